import type { ErrorClassification } from './classify-error.js'

export const OUTCOME_UNKNOWN = 'DB_HA_OUTCOME_UNKNOWN'

/**
 * The connection was lost while a non-idempotent call was in flight: it may or may not have been
 * applied, so it was not retried. `cause` is the original error (e.g. Prisma's P1017).
 */
export class OutcomeUnknownError extends Error {
  readonly code = OUTCOME_UNKNOWN

  constructor(
    override readonly cause: unknown,
    readonly attempts: number,
    readonly classification: ErrorClassification,
  ) {
    super(`outcome unknown after attempt ${attempts} (${classification.reason}); not retried because the call is not idempotent`, { cause })
    this.name = 'OutcomeUnknownError'
  }
}
