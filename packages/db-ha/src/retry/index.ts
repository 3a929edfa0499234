export { AttemptOutlastedBudgetError, withRetry, type RetryInfo, type RetryOptions } from './with-retry.js'
export { backoffDelay, type BackoffJitter } from './backoff.js'
