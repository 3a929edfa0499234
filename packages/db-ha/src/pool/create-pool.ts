import { resolveSettings } from '../dsn/index.js'
import type { ConnectionSettings } from '../settings/connection-settings.js'
import { HaPool, type HaPoolConfig, type HaPoolTuning } from './ha-pool.js'

export interface CreatePoolOptions extends Partial<ConnectionSettings> {
  /** A libpq DSN, keyword/value or URI, with one or several hosts. */
  dsn?: string
  /** Where PG* variables are read from (default process.env). */
  env?: NodeJS.ProcessEnv
  /** pg.Pool settings: max, idleTimeoutMillis, ... */
  pool?: HaPoolConfig
  tuning?: HaPoolTuning
}

/**
 * A pg.Pool that only hands out connections to the host matching target_session_attrs.
 * Settings resolve as: explicit option > DSN > PG* environment > libpq defaults.
 */
export function createPool(dsnOrOptions: string | CreatePoolOptions = {}): HaPool {
  const { dsn, env, pool, tuning, ...options } = typeof dsnOrOptions === 'string' ? { dsn: dsnOrOptions } : dsnOrOptions
  const settings = resolveSettings({ dsn, options, env })
  return new HaPool(settings, pool, tuning)
}
