// A read pool spreads its connections over the standbys, skips a standby whose replay is too
// far behind (on connect and on checkout), and falls back to the primary when none qualifies.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { createPool, createReadPool, type HaPool } from '../../src/pool/index.js'
import { waitFor } from '@pg-ha/deploy/cluster'
import { primaryOf, superuserSql, vmOf } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const LAG_LIMIT = { bytes: 1_000_000 }
const writer = createPool(cluster.databaseUrl)
const pools: HaPool[] = []
const track = (pool: HaPool) => {
  pools.push(pool)
  return pool
}
let primary: string
let standbys: string[]
const paused = new Set<string>()

beforeAll(async () => {
  primary = (await primaryOf(cluster)).host
  standbys = cluster.addresses.filter((a) => a !== primary)
  await writer.query('create table if not exists lag_filler(id bigserial primary key, pad text)')
})
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()))
  for (const address of paused) await superuserSql(cluster, vmOf(cluster, address), 'select pg_wal_replay_resume()')
  paused.clear()
})
afterAll(async () => {
  await writer.end()
})

/** Addresses of `count` connections held at once (so each is a distinct connection). */
async function addressesOf(pool: HaPool, count: number): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()))
  try {
    return await Promise.all(
      clients.map(async (c) => (await c.query<{ a: string }>('select host(inet_server_addr()) as a')).rows[0]?.a ?? '?'),
    )
  } finally {
    for (const c of clients) c.release()
  }
}

/** Pauses replay on a standby and writes until it is more than the limit behind. */
async function fallBehind(address: string) {
  await superuserSql(cluster, vmOf(cluster, address), 'select pg_wal_replay_pause()')
  paused.add(address)
  await waitFor(
    async () => {
      await writer.query("insert into lag_filler(pad) select repeat('x', 200) from generate_series(1, 5000)")
      const bytes = await superuserSql(
        cluster,
        vmOf(cluster, address),
        'select pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())',
      )
      return Number(bytes) > LAG_LIMIT.bytes * 2
    },
    { timeoutMs: 60_000, what: `${address} to fall behind`, intervalMs: 250 },
  )
}

describe('read pool', () => {
  it('spreads connections over both standbys and never uses the primary while they qualify', async () => {
    const pool = track(createReadPool({ dsn: cluster.databaseUrl, pool: { max: 16 } }))
    const addresses = await addressesOf(pool, 16)
    expect(new Set(addresses)).toEqual(new Set(standbys))
    expect(pool.snapshot().failoversObserved).toBe(0)
  })

  it('skips a standby that is too far behind', async () => {
    const [behind, current] = standbys as [string, string]
    await fallBehind(behind)
    const pool = track(createReadPool({ dsn: cluster.databaseUrl, maxReplayLag: LAG_LIMIT, pool: { max: 8 } }))
    expect(new Set(await addressesOf(pool, 8))).toEqual(new Set([current]))
  })

  it('falls back to the primary when every standby is behind; target standby then names why', async () => {
    for (const address of standbys) await fallBehind(address)
    const preferStandby = track(createReadPool({ dsn: cluster.databaseUrl, maxReplayLag: LAG_LIMIT, pool: { max: 4 } }))
    expect(new Set(await addressesOf(preferStandby, 4))).toEqual(new Set([primary]))

    const standbyOnly = track(
      createReadPool({ dsn: cluster.databaseUrl, targetSessionAttrs: 'standby', maxReplayLag: LAG_LIMIT, tuning: { connectBudgetMs: 0 } }),
    )
    const error = await standbyOnly.query('select 1').catch((e: unknown) => e as Error)
    expect(error).toMatchObject({ code: 'DB_HA_NO_SUITABLE_HOST' })
    for (const address of standbys)
      expect((error as Error).message).toMatch(new RegExp(`${address.replaceAll('.', '\\.')}:5432 lagging \\d+ bytes behind`))
  })

  it('drops a pooled standby connection that falls behind, on its next checkout', async () => {
    const pool = track(
      createReadPool({ dsn: cluster.databaseUrl, maxReplayLag: LAG_LIMIT, pool: { max: 1 }, tuning: { lagCheckIntervalMs: 0 } }),
    )
    const [first] = await addressesOf(pool, 1)
    expect(standbys).toContain(first)
    await fallBehind(first as string)
    const [second] = await addressesOf(pool, 1)
    expect(second).toBe(standbys.find((a) => a !== first))
  })
})
