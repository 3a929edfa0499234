import type { ErrorClassification } from './classify-error.js'
import { OUTCOME_UNKNOWN } from './codes.js'
import { DbHaError } from './db-ha-error.js'

/**
 * Why the outcome is unknown (stable strings, for code that must tell the cases apart):
 * - `interrupted`: withRetry saw a failover-class error while a non-idempotent call was in flight
 *   (connection lost, server shut down, query timeout); it may or may not have been applied.
 * - `commit-not-replicated`: the server did commit, but only locally: its wait for synchronous
 *   replication was cancelled. The commit is on that server only, and lost if a failover promotes
 *   another node and that server is then rewound; if it stays primary, the commit survives.
 */
export type OutcomeUnknownReason = 'interrupted' | 'commit-not-replicated'

/**
 * A write whose fate the caller cannot know: it must not be reported as a success, nor retried
 * blindly. `cause` is the original error (e.g. Prisma's P1017) or the server's notice.
 * withRetry never retries it, even for an idempotent call: a retry reaching the same server
 * would find the write already there and succeed without making it durable.
 */
export class OutcomeUnknownError extends DbHaError<typeof OUTCOME_UNKNOWN> {
  constructor(
    override readonly cause: unknown,
    /** withRetry's attempt that failed; 1 when raised by the pool for a single statement. */
    readonly attempts: number,
    readonly classification: ErrorClassification,
    readonly reason: OutcomeUnknownReason = 'interrupted',
    /** host:port of the server concerned, when known (for `commit-not-replicated`: where the commit is). */
    readonly host?: string,
  ) {
    super(
      OUTCOME_UNKNOWN,
      reason === 'commit-not-replicated'
        ? `outcome unknown: ${host ?? 'the server'} committed locally but the wait for synchronous replication was cancelled (${classification.reason}); the commit is lost if that server is rewound after a failover`
        : `outcome unknown after attempt ${attempts} (${classification.reason}); not retried because the call is not idempotent`,
      { cause },
    )
    this.name = 'OutcomeUnknownError'
  }
}
