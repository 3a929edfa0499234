// A commit whose wait for synchronous replication is cancelled is acknowledged by PostgreSQL as a
// success although it exists on that server only: db-ha must report it as an error, on every query
// path of the pool. A real server where every commit waits (synchronous_standby_names names a
// standby that never comes), a write through the pool, then pg_cancel_backend from another session.
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { classifyError, OutcomeUnknownError } from '../../src/errors/index.js'
import { createPool, type HaPool } from '../../src/pool/index.js'
import { createPrismaAdapter } from '../../src/prisma/index.js'
import { withRetry } from '../../src/retry/index.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

let server: LocalPostgres
// Setup and checks run with synchronous_commit=local, so they never wait themselves.
let admin: pg.Client
const pools: HaPool[] = []

beforeAll(async () => {
  server = await startLocalPostgres({ settings: { synchronous_standby_names: 'nobody' } })
  admin = new pg.Client({ connectionString: server.url(), options: '-c synchronous_commit=local' })
  await admin.connect()
  await admin.query('create table writes(key text primary key)')
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
})
afterAll(async () => {
  await admin?.end().catch(() => {})
  await server?.stop()
})

function pool() {
  const p = createPool({ dsn: server.url('target_session_attrs=read-write'), pool: { max: 2 } })
  pools.push(p)
  return p
}

/** Waits until a commit waits for synchronous replication, then cancels (or terminates) it. */
async function interruptWaitingCommit(how: 'pg_cancel_backend' | 'pg_terminate_backend' = 'pg_cancel_backend') {
  const deadline = Date.now() + 10_000
  for (;;) {
    const { rows } = await admin.query<{ pid: number }>("select pid from pg_stat_activity where wait_event = 'SyncRep'")
    if (rows.length > 0) {
      for (const { pid } of rows) await admin.query(`select ${how}($1)`, [pid])
      return
    }
    if (Date.now() > deadline) throw new Error('no commit waiting for synchronous replication after 10 s')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function stored(key: string) {
  const { rows } = await admin.query('select 1 from writes where key = $1', [key])
  return rows.length === 1
}

function expectNotReplicated(error: unknown) {
  expect(error).toBeInstanceOf(OutcomeUnknownError)
  expect(error).toMatchObject({
    code: 'DB_HA_OUTCOME_UNKNOWN',
    reason: 'commit-not-replicated',
    host: `127.0.0.1:${server.port}`,
    cause: { message: 'canceling wait for synchronous replication due to user request', routine: 'SyncRepWaitForLSN' },
  })
  expect(classifyError(error)).toMatchObject({ kind: 'other', sent: 'unknown' })
}

describe('a commit whose wait for synchronous replication is cancelled', () => {
  it('rejects pool.query (promise) though the server said success, and the row is on the server', async () => {
    const p = pool()
    const writing = p.query("insert into writes values ('promise')").catch((e: unknown) => e)
    await interruptWaitingCommit()
    expectNotReplicated(await writing)
    expect(await stored('promise')).toBe(true)
    expect(p.snapshot().stuckHosts).toEqual([`127.0.0.1:${server.port}`])
  })

  it('rejects pool.query (callback)', async () => {
    const p = pool()
    const writing = new Promise((resolve) => {
      p.query('insert into writes values ($1)', ['callback'], (error, result) => resolve(error ?? result))
    })
    await interruptWaitingCommit()
    expectNotReplicated(await writing)
    expect(await stored('callback')).toBe(true)
  })

  it('rejects the COMMIT of a transaction on a checked-out client, which stays usable', async () => {
    const client = await pool().connect()
    try {
      await client.query('begin')
      await client.query("insert into writes values ('transaction')")
      const committing = client.query('commit').catch((e: unknown) => e)
      await interruptWaitingCommit()
      expectNotReplicated(await committing)
      expect(await stored('transaction')).toBe(true)
      // The connection is fine and the next statement is not blamed for the earlier notice.
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }])
      await new Promise<void>((resolve, reject) =>
        client.query({ text: 'select 2 as two' }, (error: Error | null) => (error ? reject(error) : resolve())),
      )
    } finally {
      client.release()
    }
  })

  it("rejects what @prisma/adapter-pg runs: a raw write and an interactive transaction's COMMIT", async () => {
    const adapter = await createPrismaAdapter(pool()).connect()
    const raw = adapter.executeRaw({ sql: "insert into writes values ('prisma-raw')", args: [], argTypes: [] }).catch((e: unknown) => e)
    await interruptWaitingCommit()
    expectNotReplicated(await raw)
    expect(await stored('prisma-raw')).toBe(true)

    const tx = await adapter.startTransaction()
    await tx.executeRaw({ sql: "insert into writes values ('prisma-tx')", args: [], argTypes: [] })
    const commit = tx.executeRaw({ sql: 'COMMIT', args: [], argTypes: [] }).catch((e: unknown) => e)
    await interruptWaitingCommit()
    expectNotReplicated(await commit)
    await tx.rollback()
    expect(await stored('prisma-tx')).toBe(true)
  })

  it('is not retried by withRetry, even for a call declared idempotent', async () => {
    const p = pool()
    for (const idempotent of [false, true]) {
      const key = `with-retry-${idempotent}`
      let calls = 0
      const writing = withRetry(
        () => {
          calls++
          return p.query('insert into writes values ($1) on conflict (key) do nothing', [key])
        },
        { idempotent },
      ).catch((e: unknown) => e)
      await interruptWaitingCommit()
      expectNotReplicated(await writing)
      expect(calls).toBe(1)
      expect(await stored(key)).toBe(true)
    }
  })

  it('leaves Submittables alone: a pg.Query still streams its rows', async () => {
    const client = await pool().connect()
    try {
      const query = client.query(new pg.Query('select generate_series(1, 3) as n'))
      const rows: unknown[] = []
      query.on('row', (row: unknown) => rows.push(row))
      await new Promise((resolve, reject) => query.on('end', resolve).on('error', reject))
      expect(rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }])
    } finally {
      client.release()
    }
  })
})

describe('a commit whose wait is ended by terminating its backend', () => {
  it('fails with an error of unknown outcome that withRetry does not retry for a non-idempotent call', async () => {
    const p = pool()
    let calls = 0
    const writing = withRetry(
      () => {
        calls++
        return p.query("insert into writes values ('terminated')")
      },
      { idempotent: false },
    ).catch((e: unknown) => e)
    await interruptWaitingCommit('pg_terminate_backend')
    const error = await writing
    expect(error).toBeInstanceOf(OutcomeUnknownError)
    expect(error).toMatchObject({
      code: 'DB_HA_OUTCOME_UNKNOWN',
      reason: 'interrupted',
      classification: { kind: 'failover', sent: 'unknown' },
    })
    expect(calls).toBe(1)
    expect(await stored('terminated')).toBe(true)
    expect(p.snapshot().stuckHosts).toEqual([`127.0.0.1:${server.port}`])
  })
})
