import { resolveSettings } from '../dsn/index.js'
import type { ConnectionSettings } from '../settings/connection-settings.js'
import { HaPool, type HaPoolConfig, type HaPoolTuning } from './ha-pool.js'
import type { ReplayLagLimit } from './replay-lag.js'

export interface CreatePoolOptions extends Partial<ConnectionSettings> {
  /** A libpq DSN, keyword/value or URI, with one or several hosts. */
  dsn?: string
  /** Where PG* variables are read from (default process.env). */
  env?: NodeJS.ProcessEnv
  /** pg.Pool settings: max, idleTimeoutMillis, ... */
  pool?: HaPoolConfig
  tuning?: HaPoolTuning
  /** Skip standbys further behind than this (read pools). */
  maxReplayLag?: ReplayLagLimit
}

/**
 * A pg.Pool that only hands out connections to the host matching target_session_attrs.
 * Settings resolve as: explicit option > DSN > PG* environment > libpq defaults.
 */
export function createPool(dsnOrOptions: string | CreatePoolOptions = {}): HaPool {
  const { dsn, env, pool, tuning, maxReplayLag, ...options } = typeof dsnOrOptions === 'string' ? { dsn: dsnOrOptions } : dsnOrOptions
  const settings = resolveSettings({ dsn, options, env })
  return new HaPool(settings, pool, { ...tuning, ...(maxReplayLag && { maxReplayLag }) })
}

/**
 * A pool for reads that may be served by a standby: the same DSN as the write pool, but
 * target_session_attrs=prefer-standby and load_balance_hosts=random unless given explicitly, so
 * connections spread over the standbys and fall back to the primary when none qualifies.
 * With `maxReplayLag`, standbys further behind are skipped.
 */
export function createReadPool(dsnOrOptions: string | CreatePoolOptions = {}): HaPool {
  const options = typeof dsnOrOptions === 'string' ? { dsn: dsnOrOptions } : dsnOrOptions
  return createPool({
    ...options,
    targetSessionAttrs: options.targetSessionAttrs ?? 'prefer-standby',
    loadBalanceHosts: options.loadBalanceHosts ?? 'random',
  })
}
