// Two read-write primaries on purpose: a standby promoted by hand (pg_promote) while the primary
// still runs. pg_auto_failover does not notice (the monitor still shows it as a healthy secondary),
// which makes it the split brain db-ha must resolve on its own: by timeline. The old primary is
// listed first in the DSN, so taking the first read-write host would pick it. A fresh pool and an
// existing pool after an error must both pick the promoted node (the newer timeline).
// This breaks the cluster: afterAll rebuilds the promoted node (rebuildNode: power-off, heal,
// rejoin.mjs) and waits until the cluster is healthy, so the other lab files (one at a time, on the
// same cluster, in no fixed order) find it as usual.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPool, type HaPool } from '../../src/pool/index.js'
import { borrowedClients } from '../support/borrowed-clients.js'
import { primaryOf, rebuildNode, superuserSql, switchover } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const [OLD, NEW] = [cluster.addresses[0] as string, cluster.addresses[1] as string]
const TIMELINE = "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
const pools: HaPool[] = []
const { borrow, giveBack, releaseAll } = borrowedClients()
let promoted = false

function pool(max = 4) {
  const p = createPool({ dsn: cluster.databaseUrl, pool: { max } })
  pools.push(p)
  return p
}
async function addressOf(queryable: { query: HaPool['query'] }) {
  const { rows } = await queryable.query<{ addr: string }>('select host(inet_server_addr()) as addr')
  return rows[0]?.addr
}
const ms = (t: number) => `${Math.round(t)} ms`

beforeAll(async () => {
  // node1 (vm1, listed first) the primary, node2 (vm2, not the monitor's VM) the one to promote.
  if ((await primaryOf(cluster)).name !== 'node1') await switchover(cluster, 'node1')
})
afterAll(async () => {
  try {
    if (promoted) await rebuildNode(cluster, 'node2', 'vm2')
  } finally {
    releaseAll()
    await Promise.all(pools.map((p) => p.end()))
  }
})

describe('two read-write primaries', () => {
  it('a fresh pool and an existing pool after an error both pick the newer timeline', async () => {
    const before = pool()
    expect(await addressOf(before)).toBe(OLD)
    process.stdout.write(`healthy cluster, fresh pool: discovery ${ms(before.snapshot().lastRediscoveryMs ?? -1)}\n`)

    // An existing pool on node1: one connection idle, one checked out.
    const existing = pool(3)
    const held = await borrow(existing)
    const idle = await borrow(existing)
    expect([await addressOf(held), await addressOf(idle)]).toEqual([OLD, OLD])
    const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid
    giveBack(idle)

    const promoting = performance.now()
    expect(await superuserSql(cluster, 'vm2', 'select pg_promote()')).toBe('t')
    promoted = true
    // node2 keeps the synchronous_standby_names it had when an earlier file made it primary (a
    // standby ignores it): promoted by hand with no standby of its own, its commits would wait for
    // one forever. The split brain under test is two primaries that both commit.
    await superuserSql(cluster, 'vm2', "alter system set synchronous_standby_names to ''")
    await superuserSql(cluster, 'vm2', 'select pg_reload_conf()')
    const timelines = [Number(await superuserSql(cluster, 'vm1', TIMELINE)), Number(await superuserSql(cluster, 'vm2', TIMELINE))]
    process.stdout.write(`promoted node2 in ${ms(performance.now() - promoting)}; timelines node1 ${timelines[0]}, node2 ${timelines[1]}\n`)
    expect(timelines[1]).toBeGreaterThan(timelines[0] as number)
    // Both accept writes now.
    expect(await superuserSql(cluster, 'vm1', 'select pg_is_in_recovery()')).toBe('f')
    expect(await superuserSql(cluster, 'vm2', 'select pg_is_in_recovery()')).toBe('f')

    // A fresh pool: the DSN lists node1 first, node2 wins.
    for (let i = 0; i < 3; i++) {
      const fresh = pool()
      const started = performance.now()
      expect(await addressOf(fresh)).toBe(NEW)
      process.stdout.write(
        `fresh pool: first query ${ms(performance.now() - started)}, discovery ${ms(fresh.snapshot().lastRediscoveryMs ?? -1)}\n`,
      )
    }

    // The existing pool keeps using node1 (nothing went wrong as far as it knows) until an error:
    // node1 ends one of its connections.
    expect(await addressOf(existing)).toBe(OLD)
    await superuserSql(cluster, 'vm1', `select pg_terminate_backend(${Number(idlePid)})`)
    await expect.poll(() => existing.snapshot().suspectHosts).toContain(`${OLD}:5432`)
    // The connection checked out before the error comes back: still read-write, but not lent again.
    giveBack(held)
    const started = performance.now()
    expect(await addressOf(existing)).toBe(NEW)
    process.stdout.write(
      `existing pool: first query after the error ${ms(performance.now() - started)}, rediscovery ${ms(existing.snapshot().lastRediscoveryMs ?? -1)}\n`,
    )
    await existing.query('create table if not exists two_primaries_writes(id int)')
    await existing.query('insert into two_primaries_writes values (1)')
    for (let i = 0; i < 5; i++) expect(await addressOf(existing)).toBe(NEW)
    expect(existing.snapshot()).toMatchObject({ currentHost: `${NEW}:5432`, failoversObserved: 1 })
    await expect.poll(() => existing.snapshot().connectionsPerHost[`${OLD}:5432`]).toBe(0)
    // The write is on node2 only.
    expect(await superuserSql(cluster, 'vm2', 'select count(*) from two_primaries_writes')).toBe('1')
    expect(await superuserSql(cluster, 'vm1', "select to_regclass('two_primaries_writes') is null")).toBe('t')
  })
})
