// A loop of idempotent writes under withRetry while the primary is switched over, powered off
// and partitioned: no error reaches the caller, and every acknowledged write is stored exactly once.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPool } from '../../src/pool/index.js'
import { withRetry } from '../../src/retry/index.js'
import { waitFor } from '@pg-ha/deploy/cluster'
import { clusterStatus, labFault, primaryOf, switchover, vmOf } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
// query_timeout bounds a statement caught in flight on a primary that is cut off.
const pool = createPool({ dsn: cluster.databaseUrl, pool: { max: 4, query_timeout: 5000 } })

// The logical write id is in a column WITHOUT a unique constraint, so a write stored twice stays
// visible to the check below (a unique index would reject the second row and hide the defect).
// The plain index only keeps the insert's existence check cheap.
beforeAll(async () => {
  await pool.query(
    'create table if not exists logical_writes(seq bigserial primary key, logical_id text not null, at timestamptz default clock_timestamp())',
  )
  await pool.query('create index if not exists logical_writes_logical_id on logical_writes(logical_id)')
})
afterAll(async () => {
  await pool.end()
})

async function writeLoopAround(fault: () => Promise<unknown>, recover: () => Promise<unknown>, label: string) {
  const acked: string[] = []
  const failures: unknown[] = []
  let stop = false
  let i = 0
  const loop = (async () => {
    while (!stop) {
      const key = `${label}-${++i}`
      try {
        // Idempotent for withRetry: a retry starts only after the previous attempt ended, and an
        // attempt that committed on the old primary and was acknowledged was replicated
        // synchronously, so the new primary sees its row and the retry inserts nothing. Nothing
        // enforces that in the schema: a retry that did write twice leaves two rows for the id,
        // which storedOnce reports.
        await withRetry(
          () =>
            pool.query(
              'insert into logical_writes(logical_id) select $1::text where not exists (select 1 from logical_writes where logical_id = $1::text)',
              [key],
            ),
          { idempotent: true, budgetMs: 60_000 },
        )
        acked.push(key)
        // About 200 writes/s: a steady load without flooding WAL that a rewind must then copy.
        await new Promise((resolve) => setTimeout(resolve, 5))
      } catch (error) {
        failures.push(error)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  })()
  await waitFor(async () => acked.length >= 20, { timeoutMs: 30_000, what: 'writes before the fault', intervalMs: 250 })
  await fault()
  // Counted once the fault is in place: writes acknowledged while it was being set up are not "after".
  const before = acked.length
  await waitFor(async () => acked.length >= before + 20, { timeoutMs: 120_000, what: 'writes after the fault', intervalMs: 250 })
  await recover()
  await waitFor(async () => (await clusterStatus(cluster)).healthy, { timeoutMs: 120_000, what: 'a healthy cluster', intervalMs: 250 })
  stop = true
  await loop
  return { acked, failures }
}

/** The primary's VM, moving the primary off vm3 first: vm3 also carries the monitor, and losing it loses the monitor too. */
async function primaryVmOffTheMonitor() {
  if ((await primaryOf(cluster)).name === 'node3') await switchover(cluster, 'node1')
  return vmOf(cluster, (await primaryOf(cluster)).host)
}

/** Acknowledged ids with no row (lost), and ids with more than one row (duplicated: rows beyond the first). */
async function storedOnce(keys: string[]) {
  const { rows } = await pool.query<{ id: string; n: number }>(
    `select k.id, count(w.seq)::int as n from unnest($1::text[]) as k(id) left join logical_writes w on w.logical_id = k.id
     group by k.id having count(w.seq) <> 1 order by k.id`,
    [keys],
  )
  return {
    lost: rows.filter((r) => r.n === 0).map((r) => r.id),
    duplicated: rows.filter((r) => r.n > 1).map((r) => ({ id: r.id, extraRows: r.n - 1 })),
  }
}

describe('writes across a failover', () => {
  it('switchover: no error surfaces, nothing lost or duplicated', async () => {
    const { acked, failures } = await writeLoopAround(
      () => switchover(cluster),
      async () => {},
      'switchover',
    )
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ lost: [], duplicated: [] })
    expect(pool.snapshot().failoversObserved).toBeGreaterThanOrEqual(1)
  })

  it('power-off of the primary: no error surfaces, nothing lost or duplicated', async () => {
    const vm = await primaryVmOffTheMonitor()
    const { acked, failures } = await writeLoopAround(
      () => labFault(cluster, 'power-off', vm),
      () => labFault(cluster, 'restart', vm),
      'power-off',
    )
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ lost: [], duplicated: [] })
  })

  it('partition of the primary: no error surfaces, nothing lost or duplicated', async () => {
    const vm = await primaryVmOffTheMonitor()
    const { acked, failures } = await writeLoopAround(
      () => labFault(cluster, 'partition', vm),
      () => labFault(cluster, 'heal', vm),
      'partition',
    )
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ lost: [], duplicated: [] })
  })
})
