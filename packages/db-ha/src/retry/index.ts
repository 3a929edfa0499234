export { AttemptOutlastedBudgetError, withRetry, type RetryInfo, type RetryOptions } from './with-retry.js'
export { backoffDelay } from './backoff.js'
