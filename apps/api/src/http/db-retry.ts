// Database work inside a request, retried across a failover within a time budget. Every call
// the API makes is safe to repeat (reads, and creation by idempotency key), so all of it is
// retried as idempotent; past the budget the error handler answers 503 + Retry-After.
import { withRetry, type RetryInfo } from '@pg-ha/db-ha'

export type RunDbWork = <T>(work: () => Promise<T>) => Promise<T>

export function createDbRetry({ budgetMs, onRetry }: { budgetMs: number; onRetry?: (info: RetryInfo) => void }): RunDbWork {
  return (work) => withRetry(work, { idempotent: true, budgetMs, ...(onRetry && { onRetry }) })
}
