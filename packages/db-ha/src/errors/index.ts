export { classifyError, isFailoverError, type ErrorClassification } from './classify-error.js'
export { NoSuitableHostError, NO_SUITABLE_HOST, type HostRejection, type HostRejectReason } from './no-suitable-host-error.js'
export { OutcomeUnknownError, OUTCOME_UNKNOWN, type OutcomeUnknownReason } from './outcome-unknown-error.js'
export { RetryBudgetExhaustedError, RETRY_BUDGET_EXHAUSTED } from './retry-budget-exhausted-error.js'
