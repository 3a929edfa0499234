// Wires the real dependencies: two db-ha pools (writes; lag-bounded reads on standbys), a Prisma
// client over each, the retry policy and the metrics. `close()` releases them all.
import { createPool, createReadPool, type HaPool } from '@pg-ha/db-ha'
import { createPrismaAdapter } from '@pg-ha/db-ha/prisma'
import type { Logger } from 'pino'
import type { AppDeps } from './app.js'
import type { Env } from './config/env.js'
import { PrismaClient } from './generated/prisma/client.js'
import { createDbRetry } from './http/db-retry.js'
import { createMetrics } from './metrics/metrics.js'
import { createOrderRepository } from './orders/order-repository.js'

export interface Deps extends AppDeps {
  close(): Promise<void>
}

export function createDeps(env: Env, logger: Logger): Deps {
  const onIdleError = (pool: string) => (error: Error) =>
    logger.warn({ pool, err: { message: error.message } }, 'idle database connection lost')
  const pool: HaPool = createPool({
    dsn: env.DATABASE_URL,
    pool: { max: env.DB_POOL_MAX, query_timeout: env.DB_QUERY_TIMEOUT_MS },
    tuning: { onIdleError: onIdleError('primary') },
  })
  const readPool: HaPool = createReadPool({
    dsn: env.DATABASE_URL,
    maxReplayLag: { bytes: env.READ_MAX_REPLAY_LAG_BYTES, seconds: env.READ_MAX_REPLAY_LAG_SECONDS },
    // Recycled now and then, so a connection that fell back to the primary returns to a standby.
    pool: { max: env.DB_POOL_MAX, query_timeout: env.DB_QUERY_TIMEOUT_MS, maxLifetimeSeconds: 60 },
    tuning: { onIdleError: onIdleError('replica') },
  })
  pool.state.on('host-changed', ({ from, to }) => {
    if (from !== null) logger.warn({ from, to }, 'primary changed')
  })
  const primary = new PrismaClient({ adapter: createPrismaAdapter(pool) })
  const replica = new PrismaClient({ adapter: createPrismaAdapter(readPool) })
  const metrics = createMetrics({ primary: pool, replica: readPool })
  const runDbWork = createDbRetry({
    budgetMs: env.DB_RETRY_BUDGET_MS,
    onRetry: ({ attempt, classification }) => {
      metrics.dbRetries.inc({ reason: classification.reason })
      logger.debug({ attempt, reason: classification.reason }, 'retrying database work')
    },
  })
  return {
    logger,
    pool,
    readPool,
    orders: createOrderRepository({ primary, replica }),
    runDbWork,
    metrics,
    lifecycle: { draining: false },
    async close() {
      await Promise.allSettled([primary.$disconnect(), replica.$disconnect()])
      await Promise.allSettled([pool.end(), readPool.end()])
    },
  }
}
