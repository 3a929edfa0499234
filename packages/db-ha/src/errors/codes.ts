// Every code a db-ha error carries, in one place. The strings are a public contract (applications
// match on `error.code`): never change one, only add.
export const DB_HA_ERROR_CODES = {
  /** DsnError: the DSN cannot be parsed. */
  DSN_SYNTAX: 'DSN_SYNTAX',
  /** DsnError: an unknown keyword ("invalid connection option", as in libpq). */
  DSN_INVALID_OPTION: 'DSN_INVALID_OPTION',
  /** DsnError: a known keyword with a value libpq would reject. */
  DSN_BAD_VALUE: 'DSN_BAD_VALUE',
  /** DsnError: valid for libpq, but db-ha cannot honour it (refused rather than dropped). */
  DSN_UNSUPPORTED: 'DSN_UNSUPPORTED',
  /** NoSuitableHostError: no host matched target_session_attrs. */
  DB_HA_NO_SUITABLE_HOST: 'DB_HA_NO_SUITABLE_HOST',
  /** RoleChangedError: a host no longer matches target_session_attrs. */
  DB_HA_ROLE_CHANGED: 'DB_HA_ROLE_CHANGED',
  /** OutcomeUnknownError: a write may or may not have been applied. */
  DB_HA_OUTCOME_UNKNOWN: 'DB_HA_OUTCOME_UNKNOWN',
  /** RetryBudgetExhaustedError: failover-class errors outlasted withRetry's budget. */
  DB_HA_RETRY_BUDGET_EXHAUSTED: 'DB_HA_RETRY_BUDGET_EXHAUSTED',
  /** AttemptOutlastedBudgetError: an attempt was still running when withRetry's budget ran out. */
  DB_HA_ATTEMPT_OUTLASTED_BUDGET: 'DB_HA_ATTEMPT_OUTLASTED_BUDGET',
  /** PgPoolUnsupportedError: the installed pg-pool lacks internals HaPool relies on. */
  DB_HA_PG_POOL_UNSUPPORTED: 'DB_HA_PG_POOL_UNSUPPORTED',
} as const

export type DbHaErrorCode = (typeof DB_HA_ERROR_CODES)[keyof typeof DB_HA_ERROR_CODES]
export type DsnErrorCode = Extract<DbHaErrorCode, `DSN_${string}`>

/** Codes of the process warnings db-ha emits (process.emitWarning), for --disable-warning. */
export const DB_HA_WARNING_CODES = {
  /** A password file others may read is ignored, as libpq ignores it. */
  DB_HA_PASSFILE_MODE: 'DB_HA_PASSFILE_MODE',
} as const

// The names applications already import.
export const NO_SUITABLE_HOST = DB_HA_ERROR_CODES.DB_HA_NO_SUITABLE_HOST
export const OUTCOME_UNKNOWN = DB_HA_ERROR_CODES.DB_HA_OUTCOME_UNKNOWN
export const RETRY_BUDGET_EXHAUSTED = DB_HA_ERROR_CODES.DB_HA_RETRY_BUDGET_EXHAUSTED
