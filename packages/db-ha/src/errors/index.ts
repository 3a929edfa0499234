export { classifyError, isFailoverError, type ErrorClassification } from './classify-error.js'
export {
  DB_HA_ERROR_CODES,
  DB_HA_WARNING_CODES,
  NO_SUITABLE_HOST,
  OUTCOME_UNKNOWN,
  RETRY_BUDGET_EXHAUSTED,
  type DbHaErrorCode,
  type DsnErrorCode,
} from './codes.js'
export { DbHaError } from './db-ha-error.js'
export { NoSuitableHostError, type HostRejection, type HostRejectReason } from './no-suitable-host-error.js'
export { OutcomeUnknownError, type OutcomeUnknownReason } from './outcome-unknown-error.js'
export { PgPoolUnsupportedError } from './pg-pool-unsupported-error.js'
export { RetryBudgetExhaustedError } from './retry-budget-exhausted-error.js'
export { RoleChangedError } from './role-changed-error.js'
