// The HTTP application, built from its dependencies so tests construct it in-process (and
// main.ts wires it to real pools and a listening socket).
import { randomUUID } from 'node:crypto'
import type { HaPool } from '@pg-ha/db-ha'
import express, { type Express } from 'express'
import type { Logger } from 'pino'
import { pinoHttp } from 'pino-http'
import { clusterRoutes } from './cluster/cluster-routes.js'
import { healthRoutes } from './health/health-routes.js'
import type { RunDbWork } from './http/db-retry.js'
import { errorHandler, notFound } from './http/error-handler.js'
import { Problem } from './http/problem.js'
import type { Metrics } from './metrics/metrics.js'
import type { OrderRepository } from './orders/order-repository.js'
import { orderRoutes } from './orders/order-routes.js'
import type { InFlight } from './shutdown/graceful-shutdown.js'
import type { Lifecycle } from './shutdown/lifecycle.js'

export interface AppDeps {
  logger: Logger
  orders: OrderRepository
  /** Writes and strongly consistent reads. */
  pool: HaPool
  /** ?consistency=eventual reads (standbys, lag-bounded). */
  readPool: HaPool
  runDbWork: RunDbWork
  metrics: Metrics
  lifecycle: Lifecycle
  /** Counts requests being served, so shutdown can wait for them. */
  inFlight?: InFlight
}

export function createApp(deps: AppDeps): Express {
  const { logger, lifecycle, metrics, pool, readPool, runDbWork } = deps
  const app = express()
  app.disable('x-powered-by')
  // Flat string values only: a nested `?a[b]=c` is a validation error, not an object.
  app.set('query parser', 'simple')

  if (deps.inFlight) app.use(deps.inFlight.middleware)
  app.use(
    pinoHttp({
      logger,
      genReqId: () => randomUUID(),
      // Successes at debug: at hundreds of writes/s, info-level access logs would cost more than the writes.
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'debug'),
    }),
  )
  app.use(metrics.httpMiddleware)
  app.use(healthRoutes({ pool, lifecycle }))
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })

  app.use('/v1', (_req, res, next) => {
    if (!lifecycle.draining) return next()
    // Requests still arriving on kept-alive connections: refuse, and have the client reconnect elsewhere.
    res.set('Connection', 'close')
    throw new Problem({ status: 503, code: 'DRAINING', title: 'Shutting down', detail: 'retry on another instance', retryAfter: 1 })
  })
  app.use('/v1/orders', orderRoutes({ orders: deps.orders, runDbWork }))
  app.use('/v1/cluster', clusterRoutes({ pool, readPool, runDbWork }))

  app.use(notFound)
  app.use(errorHandler(logger))
  return app
}
