// An isolated primary: cut off from the monitor and both standbys while the application (this
// host) still reaches it, the partition that can make two primaries. For each shipped profile:
// the old primary's last accepted write comes before the new primary's first (direct probes on
// every node, synchronous_commit=local so the old one answers as long as it is read-write), and
// writers through db-ha lose no acknowledged write and store none twice. Healed, the old primary
// rejoins as a secondary.
import { createPool } from '@pg-ha/db-ha'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fencingTerms, loadInventory, waitFor } from '@pg-ha/deploy/cluster'
import { injectFault } from '@pg-ha/deploy/lab'
import { clusterStatus, overlapFrom, startLabCluster, startWriteProbes, stopLabCluster, vmOf } from '@pg-ha/deploy/testing'

const LABS = [
  { name: 'pghff', subnet: '10.213.57.0/24', profile: 'fast' },
  { name: 'pghfd', subnet: '10.213.58.0/24', profile: 'default' },
]

describe.each(LABS)('isolated primary, $profile profile', (LAB) => {
  /** @type {import('@pg-ha/deploy/testing').LabCluster} */
  let cluster
  beforeAll(async () => {
    cluster = await startLabCluster(LAB)
  })
  afterAll(async () => {
    await stopLabCluster(cluster, LAB)
  })

  const status = () => clusterStatus(cluster)

  it('is fenced before a new primary takes writes, and loses no acknowledged write', async () => {
    const terms = fencingTerms((await loadInventory(cluster.inventory.file)).failover)
    const addresses = cluster.lab.vms.map((vm) => vm.address)

    const pool = createPool({ dsn: cluster.databaseUrl, pool: { max: 4 } })
    // logical_id has no unique index on purpose: a write stored twice shows as two rows.
    await pool.query(
      'create table drill_writes(id bigserial primary key, logical_id text not null, at timestamptz not null default clock_timestamp())',
    )
    const probes = await startWriteProbes({ databaseUrl: cluster.databaseUrl, addresses })

    /** @type {{logicalId: string, at: number}[]} */
    const acknowledged = []
    /** @type {string[]} */
    const failures = []
    let writing = true
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      for (let n = 0; writing; n++) {
        const logicalId = `${writer}-${n}`
        try {
          await pool.query('insert into drill_writes(logical_id) values ($1)', [logicalId])
          acknowledged.push({ logicalId, at: Date.now() })
        } catch (error) {
          const { code, message } = /** @type {{code?: string, message: string}} */ (error)
          failures.push(code ?? message)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    })

    await new Promise((resolve) => setTimeout(resolve, 2000))
    const before = (await status()).nodes.find((n) => n.role === 'primary')
    if (!before) throw new Error('no primary before the cut')
    const cutAt = Date.now()
    await injectFault(cluster.lab, 'isolate', vmOf(cluster, before.host))

    // Held until another node took a probe write and the old one has refused them for 3 s.
    await waitFor(
      async () => {
        const moved =
          acknowledged.some((a) => a.at > cutAt) && (await status()).nodes.some((n) => n.host !== before.host && n.role === 'primary')
        return moved ? true : null
      },
      { timeoutMs: 150_000, intervalMs: 500, what: 'a new primary taking writes while the old one is isolated' },
    )
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const healedAt = Date.now()
    await injectFault(cluster.lab, 'heal', vmOf(cluster, before.host))
    await waitFor(async () => ((await status()).healthy ? true : null), {
      timeoutMs: 180_000,
      intervalMs: 1000,
      what: 'the cluster to be healthy again',
    })
    const rejoinMs = Date.now() - healedAt

    writing = false
    await Promise.all(writers)
    const successes = await probes.stop()
    const { oldLastMs, newFirstMs, overlapMs } = overlapFrom(successes, { oldPrimary: before.host, cutAt })

    const ackedAfterCut = acknowledged.filter((a) => a.at > cutAt)
    // Write outage: the longest stretch without an acknowledged write, from the cut on.
    const ackTimes = [cutAt, ...ackedAfterCut.map((a) => a.at)].sort((a, b) => a - b)
    const outageMs = Math.max(...ackTimes.slice(1).map((t, i) => t - (ackTimes[i] ?? t)))
    process.stdout.write(
      `isolated primary ${before.name} (${LAB.profile}): old primary's last probe write ${(oldLastMs / 1000).toFixed(1)} s after the cut ` +
        `(bound ${terms.fenceMax} s), new primary's first ${(newFirstMs / 1000).toFixed(1)} s (bound ${terms.promoteMin} s), overlap ${(overlapMs / 1000).toFixed(1)} s; ` +
        `db-ha writers: write outage ${(outageMs / 1000).toFixed(1)} s, ${acknowledged.length} acknowledged, ${failures.length} failed; rejoin ${(rejoinMs / 1000).toFixed(1)} s\n`,
    )

    expect(newFirstMs).toBeLessThan(Infinity)
    expect(overlapMs).toBeLessThanOrEqual(0)

    const after = await status()
    expect(after.nodes.find((n) => n.host === before.host)).toMatchObject({ role: 'secondary', health: 1 })

    const { rows } = await pool.query('select logical_id, count(*)::int as copies from drill_writes group by logical_id')
    await pool.end()
    const stored = new Map(rows.map((r) => [r.logical_id, r.copies]))
    const lost = acknowledged.filter((a) => !stored.has(a.logicalId))
    const duplicated = rows.filter((r) => r.copies > 1)
    expect(lost).toEqual([])
    expect(duplicated).toEqual([])
    expect(ackedAfterCut.length).toBeGreaterThan(0)
  })
})
