// A connection the application holds between statements (a transaction, Prisma's included) whose
// server ends it (a switchover restarts the old primary, a crash, pg_terminate_backend) must not
// end the process: pg-pool listens for errors only on idle connections, and an 'error' event with
// no listener throws. The error fails the connection's next statement instead, as a failover-class
// error the retry acts on, and the pool goes on with a new connection.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { classifyError } from '../../src/errors/index.js'
import { createPool } from '../../src/pool/index.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

let server: LocalPostgres
let admin: pg.Client

beforeAll(async () => {
  server = await startLocalPostgres()
  admin = new pg.Client({ connectionString: server.url() })
  await admin.connect()
})
afterAll(async () => {
  await admin?.end().catch(() => {})
  await server?.stop()
})

describe('a checked-out connection ended by the server', () => {
  it('does not crash the process; its next statement fails as a failover, and the pool recovers', async () => {
    const pool = createPool({ dsn: server.url('target_session_attrs=read-write'), pool: { max: 2 } })
    try {
      const client = await pool.connect()
      await client.query('begin')
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
      await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid])
      // The FATAL (57P01) and the socket's end arrive while no statement runs on it.
      await new Promise((resolve) => setTimeout(resolve, 300))
      const error = await client.query('select 1').then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(Error)
      expect(classifyError(error).kind).toBe('failover')
      client.release(error as Error)
      const again = await pool.query<{ one: number }>('select 1 as one')
      expect(again.rows).toEqual([{ one: 1 }])
    } finally {
      await pool.end()
    }
  })
})
