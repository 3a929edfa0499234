export const RETRY_BUDGET_EXHAUSTED = 'DB_HA_RETRY_BUDGET_EXHAUSTED'

/** Failover-class errors kept coming until the time budget ran out; `cause` is the last one. */
export class RetryBudgetExhaustedError extends Error {
  readonly code = RETRY_BUDGET_EXHAUSTED

  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
    readonly elapsedMs: number,
  ) {
    const last = cause instanceof Error ? cause.message : String(cause)
    super(`retry budget exhausted after ${attempts} attempts in ${Math.round(elapsedMs)} ms: ${last}`, { cause })
    this.name = 'RetryBudgetExhaustedError'
  }
}
