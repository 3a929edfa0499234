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
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    registers: [registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
  })
  const dbRetries = new Counter({
    name: 'db_request_retries_total',
    help: 'Database calls retried inside a request after a failover-class error',
    labelNames: ['reason'],
    registers: [registry],
  })

  const perPool = (
    name: string,
    help: string,
    read: (pool: HaPool, gauge: Gauge<'pool' | 'host'>, poolName: string) => void,
    labels: ('pool' | 'host')[] = ['pool'],
  ) =>
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      collect() {
        this.reset()
        for (const [poolName, pool] of Object.entries(pools)) read(pool, this, poolName)
      },
    })
  perPool(
    'dbha_current_host_info',
    'The host the pool currently sends new connections to (value 1)',
    (pool, g, p) => {
      const host = pool.snapshot().currentHost
      if (host) g.set({ pool: p, host }, 1)
    },
    ['pool', 'host'],
  )
  // Counts are counters (rate() and increase() apply), kept level with the pool's own tally:
  // each scrape adds what the pool counted since the last one.
  const perPoolCount = (name: string, help: string, read: (pool: HaPool) => number) => {
    const seen = new Map<string, number>()
    return new Counter({
      name,
      help,
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        for (const [poolName, pool] of Object.entries(pools)) {
          const now = read(pool)
          const last = seen.get(poolName)
          // The first scrape creates the series, at 0 if nothing happened yet.
          if (last === undefined || now > last) {
            this.inc({ pool: poolName }, now - (last ?? 0))
            seen.set(poolName, now)
          }
        }
      },
    })
  }
  perPoolCount('dbha_failovers_observed_total', 'Times the pool saw the matching host change', (pool) => pool.snapshot().failoversObserved)
  perPoolCount('dbha_rediscoveries_total', 'Host discoveries run by the pool', (pool) => pool.snapshot().rediscoveries)
  perPool('dbha_last_rediscovery_seconds', 'Duration of the last host discovery', (pool, g, p) => {
    const ms = pool.snapshot().lastRediscoveryMs
    if (ms !== null) g.set({ pool: p }, ms / 1000)
  })
  perPool(
    'dbha_connections',
    'Open connections per host',
    (pool, g, p) => {
      for (const [host, count] of Object.entries(pool.snapshot().connectionsPerHost)) g.set({ pool: p, host }, count)
    },
    ['pool', 'host'],
  )
  perPool('dbha_pool_total_connections', 'Connections in the pool', (pool, g, p) => g.set({ pool: p }, pool.totalCount))
  perPool('dbha_pool_idle_connections', 'Idle connections in the pool', (pool, g, p) => g.set({ pool: p }, pool.idleCount))
  perPool('dbha_pool_waiting_requests', 'Checkouts waiting for a connection', (pool, g, p) => g.set({ pool: p }, pool.waitingCount))

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const stop = duration.startTimer()
    // The route pattern, not the path: ids must not explode the label set. Taken when the router
    // matches the route, while req.baseUrl still holds the router's prefix: an error leaves the
    // router through next(error), which restores req.baseUrl to '' before the error handler answers.
    let route = 'unmatched'
    let matched: unknown = req.route
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => matched,
      set: (value: { path?: unknown } | undefined) => {
        matched = value
        if (value?.path !== undefined) route = `${req.baseUrl}${String(value.path)}`
      },
    })
    res.once('finish', () => {
      const labels = { method: req.method, route, status: String(res.statusCode) }
      requests.inc(labels)
      stop(labels)
    })
    next()
  }
  return { registry, dbRetries, httpMiddleware }
}
