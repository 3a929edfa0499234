// A statement the server rejects (a unique violation, as every idempotent replay meets) leaves its
// connection healthy: pool.query (and so @prisma/adapter-pg) must not end it, or a replay storm
// after a failover pays a new connection and SCRAM handshake per request. A connection left in a
// transaction, or released with release(true), is still ended.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, type HaPool } from '../../src/pool/index.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

let server: LocalPostgres
let pool: HaPool

beforeAll(async () => {
  server = await startLocalPostgres()
  const admin = new pg.Client({ connectionString: server.url() })
  await admin.connect()
  await admin.query("create table keyed(k text primary key); insert into keyed values ('a')")
  await admin.end()
  pool = createPool({ dsn: server.url('target_session_attrs=read-write'), pool: { max: 1 } })
})
afterAll(async () => {
  await pool?.end()
  await server?.stop()
})

const backendPid = async () => (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid

describe('a statement error and the connection it ran on', () => {
  it('pool.query keeps the connection after a unique violation', async () => {
    const before = await backendPid()
    await expect(pool.query("insert into keyed values ('a')")).rejects.toMatchObject({ code: '23505' })
    expect(await backendPid()).toBe(before)
  })

  it('a connection released with the error of a failed transaction is ended', async () => {
    const before = await backendPid()
    const client = await pool.connect()
    await client.query('begin')
    const error = await client.query("insert into keyed values ('a')").then(
      () => null,
      (e: Error) => e,
    )
    expect(error).toMatchObject({ code: '23505' })
    client.release(error as Error)
    expect(await backendPid()).not.toBe(before)
  })

  it('release(true) still ends the connection', async () => {
    const before = await backendPid()
    const client = await pool.connect()
    client.release(true)
    expect(await backendPid()).not.toBe(before)
  })
})
