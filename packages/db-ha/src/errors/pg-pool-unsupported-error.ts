import { DB_HA_ERROR_CODES } from './codes.js'
import { DbHaError } from './db-ha-error.js'

/**
 * The installed pg-pool lacks a private member HaPool relies on (`_idle`, `_remove`: pg-pool has
 * no public way to evict one host's idle connections). Raised when the pool is constructed, rather
 * than as a TypeError at the first failover.
 */
export class PgPoolUnsupportedError extends DbHaError<typeof DB_HA_ERROR_CODES.DB_HA_PG_POOL_UNSUPPORTED> {
  constructor(
    /** The members missing, e.g. `['_idle']`. */
    readonly missing: readonly string[],
    /** pg-pool's version, when it could be read. */
    readonly pgPoolVersion?: string,
  ) {
    super(
      DB_HA_ERROR_CODES.DB_HA_PG_POOL_UNSUPPORTED,
      `pg-pool ${pgPoolVersion ?? '(version unknown)'} lacks ${missing.join(', ')}, which db-ha's HaPool uses to evict the idle connections of a suspect host; use a pg-pool version that has them (3.x does)`,
    )
    this.name = 'PgPoolUnsupportedError'
  }
}
