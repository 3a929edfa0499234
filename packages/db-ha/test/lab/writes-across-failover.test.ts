// A loop of idempotent writes under withRetry while the primary is switched over, powered off
// and partitioned: no error reaches the caller, and every acknowledged write is stored exactly once.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPool } from '../../src/pool/index.js'
import { withRetry } from '../../src/retry/index.js'
import { clusterStatus, labFault, primaryOf, switchover, until, vmOf } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
// query_timeout bounds a statement caught in flight on a primary that is cut off.
const pool = createPool({ dsn: cluster.databaseUrl, pool: { max: 4, query_timeout: 5000 } })

beforeAll(async () => {
  await pool.query('create table if not exists acked_writes(key text primary key, at timestamptz default clock_timestamp())')
})
afterAll(async () => {
  await pool.end()
})

async function writeLoopAround(fault: () => Promise<void>, recover: () => Promise<void>, label: string) {
  const acked: string[] = []
  const failures: unknown[] = []
  let stop = false
  let i = 0
  const loop = (async () => {
    while (!stop) {
      const key = `${label}-${++i}`
      try {
        await withRetry(() => pool.query('insert into acked_writes(key) values ($1) on conflict (key) do nothing', [key]), { idempotent: true, budgetMs: 60_000 })
        acked.push(key)
        // About 200 writes/s: a steady load without flooding WAL that a rewind must then copy.
        await new Promise((resolve) => setTimeout(resolve, 5))
      } catch (error) {
        failures.push(error)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  })()
  await until(async () => acked.length >= 20, 30_000, 'writes before the fault')
  await fault()
  // Counted once the fault is in place: writes acknowledged while it was being set up are not "after".
  const before = acked.length
  await until(async () => acked.length >= before + 20, 120_000, 'writes after the fault')
  await recover()
  await until(async () => (await clusterStatus(cluster)).healthy, 120_000, 'a healthy cluster')
  stop = true
  await loop
  return { acked, failures }
}

/** The primary's VM, moving the primary off vm3 first: vm3 also carries the monitor, and losing it loses the monitor too. */
async function primaryVmOffTheMonitor() {
  if ((await primaryOf(cluster)).name === 'node3') await switchover(cluster, 'node1')
  return vmOf(cluster, (await primaryOf(cluster)).host)
}

async function storedOnce(keys: string[]) {
  const { rows } = await pool.query<{ n: string; d: string }>('select count(*) as n, count(distinct key) as d from acked_writes where key = any($1)', [keys])
  return { stored: Number(rows[0]?.n), distinct: Number(rows[0]?.d) }
}

describe('writes across a failover', () => {
  it('switchover: no error surfaces, nothing lost or duplicated', async () => {
    const { acked, failures } = await writeLoopAround(() => switchover(cluster), async () => {}, 'switchover')
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ stored: acked.length, distinct: acked.length })
    expect(pool.snapshot().failoversObserved).toBeGreaterThanOrEqual(1)
  })

  it('power-off of the primary: no error surfaces, nothing lost or duplicated', async () => {
    const vm = await primaryVmOffTheMonitor()
    const { acked, failures } = await writeLoopAround(() => labFault(cluster, 'power-off', vm), () => labFault(cluster, 'restart', vm), 'power-off')
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ stored: acked.length, distinct: acked.length })
  })

  it('partition of the primary: no error surfaces, nothing lost or duplicated', async () => {
    const vm = await primaryVmOffTheMonitor()
    const { acked, failures } = await writeLoopAround(() => labFault(cluster, 'partition', vm), () => labFault(cluster, 'heal', vm), 'partition')
    expect(failures).toEqual([])
    expect(await storedOnce(acked)).toEqual({ stored: acked.length, distinct: acked.length })
  })
})
