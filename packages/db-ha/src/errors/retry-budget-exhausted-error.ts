import { RETRY_BUDGET_EXHAUSTED } from './codes.js'
import { DbHaError } from './db-ha-error.js'

/** Failover-class errors kept coming until the time budget ran out; `cause` is the last one. */
export class RetryBudgetExhaustedError extends DbHaError<typeof RETRY_BUDGET_EXHAUSTED> {
  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    const last = cause instanceof Error ? cause.message : String(cause)
    super(RETRY_BUDGET_EXHAUSTED, `retry budget exhausted after ${attempts} attempts in ${Math.round(elapsedMs)} ms: ${last}`, { cause })
    this.name = 'RetryBudgetExhaustedError'
  }
}
