// /healthz: the process is alive. /readyz: it can serve (not draining, primary reachable), for
// load balancers and orchestrators that route traffic by readiness. A probe answers within a
// second: while a failover is under way the pool may take seconds to find the primary, and a
// probe that waits for it tells the prober nothing; "not ready" does.
import type { HaPool } from '@pg-ha/db-ha'
import { Router } from 'express'
import { Problem } from '../http/problem.js'
import type { Lifecycle } from '../shutdown/lifecycle.js'

/** How long /readyz waits for the primary before it answers "not ready". */
export const READY_CHECK_TIMEOUT_MS = 800

export function healthRoutes({
  pool,
  lifecycle,
  readyTimeoutMs = READY_CHECK_TIMEOUT_MS,
}: {
  pool: HaPool
  lifecycle: Lifecycle
  readyTimeoutMs?: number
}): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  router.get('/readyz', async (_req, res) => {
    if (lifecycle.draining)
      throw new Problem({
        status: 503,
        code: 'DRAINING',
        title: 'Shutting down',
        detail: 'this instance no longer accepts work',
        retryAfter: 1,
      })
    let timer: NodeJS.Timeout | undefined
    const unconfirmed = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), readyTimeoutMs)
    })
    const check = pool.query('select 1').then(
      () => 'ok' as const,
      () => 'unreachable' as const,
    )
    const outcome = await Promise.race([check, unconfirmed]).finally(() => clearTimeout(timer))
    if (outcome === 'unreachable') {
      throw new Problem({
        status: 503,
        code: 'PRIMARY_UNREACHABLE',
        title: 'The primary is not reachable',
        detail: 'no host of the DSN accepts writes right now',
        retryAfter: 1,
      })
    }
    if (outcome === 'timeout') {
      throw new Problem({
        status: 503,
        code: 'PRIMARY_UNKNOWN',
        title: 'The primary is not confirmed',
        detail: `no host confirmed it accepts writes within ${readyTimeoutMs} ms (a failover may be under way)`,
        retryAfter: 1,
      })
    }
    res.json({ status: 'ready', primary: pool.snapshot().currentHost })
  })
  return router
}
