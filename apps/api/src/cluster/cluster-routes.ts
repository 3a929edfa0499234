// /v1/cluster: which node served this request, and what db-ha believes about the cluster.
import type { DbHaSnapshot, HaPool } from '@pg-ha/db-ha'
import { Router } from 'express'
import type { RunDbWork } from '../http/db-retry.js'

// The timeline is the first 8 hex digits of the current WAL file name (primary only), which needs
// no privilege, unlike pg_control_checkpoint().
const WHERE_AM_I = `select host(inet_server_addr()) as address, inet_server_port() as port, pg_is_in_recovery() as in_recovery,
  case when pg_is_in_recovery() then null else ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int end as timeline`

export function clusterRoutes({ pool, readPool, runDbWork }: { pool: HaPool; readPool: HaPool; runDbWork: RunDbWork }): Router {
  const router = Router()
  router.get('/', async (_req, res) => {
    const { rows } = await runDbWork(() =>
      pool.query<{ address: string; port: number; in_recovery: boolean; timeline: number | null }>(WHERE_AM_I),
    )
    const node = rows[0]
    res.json({
      servedBy: node && { address: node.address, port: node.port, inRecovery: node.in_recovery, timeline: node.timeline },
      dbHa: { primary: poolView(pool), replica: poolView(readPool) },
    })
  })
  return router
}

/**
 * db-ha's snapshot of a pool. A load-balanced pool (the replica pool: each new connection picks
 * its host anew) remembers no host, so its currentHost is the host it holds connections to (the
 * one with the most, if several; connectionsPerHost has them all), null only when it holds none.
 */
export function poolView(pool: HaPool): DbHaSnapshot {
  const snapshot = pool.snapshot()
  if (pool.state.remembers || snapshot.currentHost !== null) return snapshot
  const [busiest] = Object.entries(snapshot.connectionsPerHost)
    .filter(([, count]) => count > 0)
    .sort(([hostA, a], [hostB, b]) => b - a || (hostA < hostB ? -1 : 1))
  return { ...snapshot, currentHost: busiest?.[0] ?? null }
}
