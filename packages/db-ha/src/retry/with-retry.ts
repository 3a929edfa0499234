// Retries a call across a failover. Only failover-class errors are retried, and a call that may
// have been applied is retried only when the caller declares it idempotent. `fn` is the unit of
// retry: for a non-idempotent call it should be a single statement or a single transaction.
import { classifyError, type ErrorClassification } from '../errors/classify-error.js'
import { DB_HA_ERROR_CODES } from '../errors/codes.js'
import { DbHaError } from '../errors/db-ha-error.js'
import { OutcomeUnknownError } from '../errors/outcome-unknown-error.js'
import { RetryBudgetExhaustedError } from '../errors/retry-budget-exhausted-error.js'
import { backoffDelay } from './backoff.js'

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number
  error: unknown
  delayMs: number
  classification: ErrorClassification
}

export interface RetryOptions {
  /** True when running `fn` twice is harmless (reads, upserts by key, ...). */
  idempotent: boolean
  /**
   * The whole call's time, in ms from the first attempt (default 10 000): no attempt starts after
   * it, and an attempt still running when it ends is abandoned (its result ignored, its connection
   * left to finish), so the caller hears back within the budget whatever is in flight.
   */
  budgetMs?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** Stops retrying: a pending backoff rejects with `signal.reason`; a running `fn` is not cancelled. */
  signal?: AbortSignal
  onRetry?: (info: RetryInfo) => void
  random?: () => number
  sleep?: (ms: number) => Promise<void>
  now?: () => number
}

/**
 * @returns the first successful result of `fn(attempt)`.
 * @throws the error of `fn` itself when it is not failover-class (e.g. 23505, 40001);
 *   `OutcomeUnknownError` (code DB_HA_OUTCOME_UNKNOWN, `cause` = original) when a non-idempotent
 *   call failed in a way that may have applied it: it is never retried;
 *   `RetryBudgetExhaustedError` (code DB_HA_RETRY_BUDGET_EXHAUSTED, `cause` = last error, `attempts`)
 *   when failover-class errors outlast the budget, or an idempotent attempt is still running when
 *   it ends (`cause`: an `AttemptOutlastedBudgetError`); a non-idempotent attempt still running
 *   then is an `OutcomeUnknownError` (it may yet be applied); `signal.reason` when aborted.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { idempotent, budgetMs = 10_000, baseDelayMs = 50, maxDelayMs = 1000, signal, onRetry } = options
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? defaultSleep
  const now = options.now ?? (() => performance.now())
  const started = now()

  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted()
    try {
      return await withinBudget(fn(attempt), budgetMs - (now() - started), budgetMs)
    } catch (error) {
      if (error instanceof AttemptOutlastedBudgetError) {
        if (!idempotent) throw new OutcomeUnknownError(error, attempt, { kind: 'failover', sent: 'unknown', reason: error.message })
        throw new RetryBudgetExhaustedError(error, attempt, now() - started)
      }
      const classification = classifyError(error)
      if (classification.kind !== 'failover') throw error
      if (!idempotent && classification.sent !== 'no') throw new OutcomeUnknownError(error, attempt, classification)
      signal?.throwIfAborted()
      const delayMs = backoffDelay(attempt, baseDelayMs, maxDelayMs, random)
      const elapsed = now() - started
      if (elapsed + delayMs >= budgetMs) throw new RetryBudgetExhaustedError(error, attempt, elapsed)
      onRetry?.({ attempt, error, delayMs, classification })
      await abortable(sleep(delayMs), signal)
    }
  }
}

/** An attempt was still running when the retry budget ran out. */
export class AttemptOutlastedBudgetError extends DbHaError<typeof DB_HA_ERROR_CODES.DB_HA_ATTEMPT_OUTLASTED_BUDGET> {
  constructor(readonly budgetMs: number) {
    super(DB_HA_ERROR_CODES.DB_HA_ATTEMPT_OUTLASTED_BUDGET, `attempt still running when the retry budget of ${budgetMs} ms ran out`)
    this.name = 'AttemptOutlastedBudgetError'
  }
}

// Rejects with AttemptOutlastedBudgetError once `remainingMs` have passed; the attempt's own later
// settling is then ignored (and its rejection handled, so it is not reported as unhandled).
function withinBudget<T>(attempt: Promise<T>, remainingMs: number, budgetMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const outlasted = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AttemptOutlastedBudgetError(budgetMs)), Math.max(0, remainingMs))
    timer.unref?.()
  })
  attempt.catch(() => {})
  return Promise.race([attempt, outlasted]).finally(() => clearTimeout(timer))
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// Races the backoff against the signal, so an injected sleep need not know about aborts.
function abortable(sleeping: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleeping
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    sleeping.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
