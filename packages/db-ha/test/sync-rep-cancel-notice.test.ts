// Which server notices mean "committed locally, but the wait for synchronous replication was
// cancelled", whatever lc_messages is, and the error a statement then gets instead of success.
import { describe, expect, it } from 'vitest'
import { classifyError, OutcomeUnknownError } from '../src/errors/index.js'
import { commitNotReplicatedError, isSyncRepCancelled } from '../src/pool/commit-not-replicated.js'

// As PostgreSQL 15 sends them (pg's NoticeMessage fields), lc_messages English.
const cancelled = {
  severity: 'WARNING',
  code: '01000',
  routine: 'SyncRepWaitForLSN',
  file: 'syncrep.c',
  line: '327',
  message: 'canceling wait for synchronous replication due to user request',
  detail: 'The transaction has already committed locally, but might not have been replicated to the standby.',
}
const terminated = {
  ...cancelled,
  code: '57P01',
  line: '309',
  message: 'canceling the wait for synchronous replication and terminating connection due to administrator command',
}

describe('isSyncRepCancelled', () => {
  it('recognises both warnings', () => {
    expect(isSyncRepCancelled(cancelled)).toBe(true)
    expect(isSyncRepCancelled(terminated)).toBe(true)
  })

  it('recognises them translated, by the routine that raises them (not translated)', () => {
    expect(
      isSyncRepCancelled({
        ...cancelled,
        severity: 'WARNUNG',
        message: 'breche Warten auf synchrone Replikation ab wegen Benutzeraufforderung',
      }),
    ).toBe(true)
  })

  it('recognises the English message when the routine is missing', () => {
    expect(isSyncRepCancelled({ message: cancelled.message })).toBe(true)
  })

  it('ignores other notices', () => {
    expect(
      isSyncRepCancelled({
        severity: 'NOTICE',
        code: '42P07',
        routine: 'transformCreateStmt',
        message: 'relation "t" already exists, skipping',
      }),
    ).toBe(false)
    expect(
      isSyncRepCancelled({
        severity: 'WARNING',
        code: '25P01',
        routine: 'UserAbortTransactionBlock',
        message: 'there is no transaction in progress',
      }),
    ).toBe(false)
    expect(isSyncRepCancelled({ code: '01000', routine: 'SomethingElse', message: 'some other warning' })).toBe(false)
    expect(isSyncRepCancelled({})).toBe(false)
  })
})

describe('commitNotReplicatedError', () => {
  it('is an OutcomeUnknownError naming the server and the notice, never retried by withRetry', () => {
    const error = commitNotReplicatedError(cancelled, '10.0.0.11:5432')
    expect(error).toBeInstanceOf(OutcomeUnknownError)
    expect(error).toMatchObject({
      name: 'OutcomeUnknownError',
      code: 'DB_HA_OUTCOME_UNKNOWN',
      reason: 'commit-not-replicated',
      host: '10.0.0.11:5432',
      cause: cancelled,
      attempts: 1,
    })
    expect(error.classification).toEqual({ kind: 'other', sent: 'unknown', reason: cancelled.message, sqlState: '01000' })
    expect(error.message).toBe(
      'outcome unknown: 10.0.0.11:5432 committed locally but the wait for synchronous replication was cancelled (canceling wait for synchronous replication due to user request); the commit is lost if that server is rewound after a failover',
    )
    expect(classifyError(error)).toEqual({ kind: 'other', sent: 'unknown', reason: 'DB_HA_OUTCOME_UNKNOWN commit-not-replicated' })
  })
})
