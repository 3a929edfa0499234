// /healthz: the process is alive. /readyz: it can serve (not draining, primary reachable), for
// load balancers and orchestrators that route traffic by readiness.
import type { HaPool } from '@pg-ha/db-ha'
import { Router } from 'express'
import { Problem } from '../http/problem.js'
import type { Lifecycle } from '../shutdown/lifecycle.js'

export function healthRoutes({ pool, lifecycle }: { pool: HaPool; lifecycle: Lifecycle }): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  router.get('/readyz', async (_req, res) => {
    if (lifecycle.draining) throw new Problem({ status: 503, code: 'DRAINING', title: 'Shutting down', detail: 'this instance no longer accepts work', retryAfter: 1 })
    try {
      await pool.query('select 1')
    } catch {
      throw new Problem({ status: 503, code: 'PRIMARY_UNREACHABLE', title: 'The primary is not reachable', detail: 'no host of the DSN accepts writes right now', retryAfter: 1 })
    }
    res.json({ status: 'ready', primary: pool.snapshot().currentHost })
  })
  return router
}
