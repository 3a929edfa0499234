// A commit waiting for synchronous replication (standbys unreachable) that is cancelled (client
// CancelRequest, pg_cancel_backend) is answered with a WARNING notice and then SUCCESS: the commit
// exists on that server only, and is lost if a failover promotes another node and that server is
// rewound. On termination (pg_terminate_backend, shutdown) the same notice comes with SQLSTATE
// 57P01 and the connection then closes, so the caller already gets an error of unknown outcome.
import { OutcomeUnknownError } from '../errors/outcome-unknown-error.js'

/** A server notice as pg parses it (NoticeMessage), the fields that matter here. */
export interface ServerNotice {
  /** Translated with lc_messages, like message: not relied on. */
  severity?: string
  message?: string
  code?: string
  detail?: string
  routine?: string
}

// Both warnings come from this function (PostgreSQL 9.1 to 17), with these SQLSTATEs. The
// routine field is not translated; the message is English only with lc_messages English.
const SYNC_REP_ROUTINE = 'SyncRepWaitForLSN'
const SYNC_REP_CODES = new Set(['01000', '57P01'])
const SYNC_REP_CANCELLED = /^canceling (the )?wait for synchronous replication\b/

/** Whether a notice says a commit's wait for synchronous replication was cancelled. */
export function isSyncRepCancelled(notice: ServerNotice): boolean {
  if (notice.routine === SYNC_REP_ROUTINE && SYNC_REP_CODES.has(notice.code ?? '')) return true
  return SYNC_REP_CANCELLED.test(notice.message ?? '')
}

/** The error a statement gets instead of the success the server reported. */
export function commitNotReplicatedError(notice: ServerNotice, host: string): OutcomeUnknownError {
  const classification = {
    kind: 'other' as const,
    sent: 'unknown' as const,
    reason: notice.message ?? 'wait for synchronous replication cancelled',
    ...(notice.code && { sqlState: notice.code }),
  }
  return new OutcomeUnknownError(notice, 1, classification, 'commit-not-replicated', host)
}
