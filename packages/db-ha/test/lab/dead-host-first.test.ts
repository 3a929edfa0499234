// After a failover, a DSN that lists the dead old primary first must not cost its
// connect_timeout on new connections (libpq pays it on every one).
import { describe, expect, inject, it } from 'vitest'
import { createPool } from '../../src/pool/index.js'
import { waitFor } from '@pg-ha/deploy/cluster'
import { clusterStatus, labFault, primaryOf, switchover } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const CONNECT_TIMEOUT_S = 10

describe('dead host listed first', () => {
  it('new pools reach the new primary without waiting out connect_timeout', async () => {
    await switchover(cluster, 'node1')
    await labFault(cluster, 'partition', 'vm1')
    try {
      const dsn = cluster.databaseUrl.replace(/connect_timeout=\d+/, `connect_timeout=${CONNECT_TIMEOUT_S}`)
      const newPrimary = await waitFor(
        async () => {
          const p = await primaryOf(cluster).catch(() => null)
          return p && p.name !== 'node1' ? p : null
        },
        { timeoutMs: 120_000, what: 'a new primary', intervalMs: 250 },
      )
      const timings: number[] = []
      for (let i = 0; i < 3; i++) {
        const pool = createPool(dsn)
        const started = performance.now()
        const { rows } = await pool.query<{ addr: string }>('select host(inet_server_addr()) as addr')
        timings.push(performance.now() - started)
        expect(rows[0]?.addr).toBe(newPrimary.host)
        await pool.end()
      }
      process.stdout.write(
        `new pool, first query with the black-holed host first: ${timings.map((t) => `${Math.round(t)} ms`).join(', ')}\n`,
      )
      for (const ms of timings) expect(ms).toBeLessThan((CONNECT_TIMEOUT_S * 1000) / 2)
    } finally {
      await labFault(cluster, 'heal', 'vm1')
      await waitFor(async () => (await clusterStatus(cluster)).healthy, { timeoutMs: 120_000, what: 'a healthy cluster', intervalMs: 250 })
    }
  })
})
