// Prometheus metrics: HTTP traffic, and db-ha's view of the cluster read from the pools on
// every scrape (so the steady state costs nothing between scrapes).
import type { HaPool } from '@pg-ha/db-ha'
import type { RequestHandler } from 'express'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  dbRetries: Counter<'reason'>
  httpMiddleware: RequestHandler
}

export function createMetrics(pools: Record<'primary' | 'replica', HaPool>): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const labelNames = ['method', 'route', 'status'] as const
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] })
  const duration = new Histogram({
    name: 'http_request_duration_seconds', help: 'HTTP request latency', labelNames, registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
  })
  const dbRetries = new Counter({ name: 'db_request_retries_total', help: 'Database calls retried inside a request after a failover-class error', labelNames: ['reason'], registers: [registry] })

  const perPool = (name: string, help: string, read: (pool: HaPool, gauge: Gauge<'pool' | 'host'>, poolName: string) => void, labels: ('pool' | 'host')[] = ['pool']) =>
    new Gauge({
      name, help, labelNames: labels, registers: [registry],
      collect() {
        this.reset()
        for (const [poolName, pool] of Object.entries(pools)) read(pool, this, poolName)
      },
    })
  perPool('dbha_current_host_info', 'The host the pool currently sends new connections to (value 1)', (pool, g, p) => {
    const host = pool.snapshot().currentHost
    if (host) g.set({ pool: p, host }, 1)
  }, ['pool', 'host'])
  perPool('dbha_failovers_observed', 'Times the pool saw the matching host change', (pool, g, p) => g.set({ pool: p }, pool.snapshot().failoversObserved))
  perPool('dbha_rediscoveries', 'Host discoveries run by the pool', (pool, g, p) => g.set({ pool: p }, pool.snapshot().rediscoveries))
  perPool('dbha_last_rediscovery_seconds', 'Duration of the last host discovery', (pool, g, p) => {
    const ms = pool.snapshot().lastRediscoveryMs
    if (ms !== null) g.set({ pool: p }, ms / 1000)
  })
  perPool('dbha_connections', 'Open connections per host', (pool, g, p) => {
    for (const [host, count] of Object.entries(pool.snapshot().connectionsPerHost)) g.set({ pool: p, host }, count)
  }, ['pool', 'host'])
  perPool('dbha_pool_total_connections', 'Connections in the pool', (pool, g, p) => g.set({ pool: p }, pool.totalCount))
  perPool('dbha_pool_idle_connections', 'Idle connections in the pool', (pool, g, p) => g.set({ pool: p }, pool.idleCount))
  perPool('dbha_pool_waiting_requests', 'Checkouts waiting for a connection', (pool, g, p) => g.set({ pool: p }, pool.waitingCount))

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const stop = duration.startTimer()
    res.once('finish', () => {
      // The route pattern, not the path: ids must not explode the label set.
      const route = req.route?.path === undefined ? 'unmatched' : `${req.baseUrl}${String(req.route.path)}`
      const labels = { method: req.method, route, status: String(res.statusCode) }
      requests.inc(labels)
      stop(labels)
    })
    next()
  }
  return { registry, dbRetries, httpMiddleware }
}
