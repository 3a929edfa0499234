// libpq's target_session_attrs rules, for the three roles a server can report: a primary, a
// primary whose sessions default to read-only (default_transaction_read_only=on), a hot standby.
import { describe, expect, it } from 'vitest'
import { judgeRole, type SessionRole } from '../src/pool/session-role.js'
import { TARGET_SESSION_ATTRS, type TargetSessionAttrs } from '../src/settings/connection-settings.js'

const primary: SessionRole = { readOnly: false, inHotStandby: false }
const readOnlyPrimary: SessionRole = { readOnly: true, inHotStandby: false }
const standby: SessionRole = { readOnly: true, inHotStandby: true }

// [target, primary, read-only primary, standby]: true or the reason given.
const table: [TargetSessionAttrs, true | string, true | string, true | string][] = [
  ['any', true, true, true],
  ['read-write', true, 'read-only', 'read-only'],
  ['read-only', 'not-read-only', true, true],
  ['primary', true, true, 'standby'],
  ['standby', 'not-standby', 'not-standby', true],
  // Its first pass only; the second (any host) is the caller's.
  ['prefer-standby', 'not-standby', 'not-standby', true],
]

const outcome = (role: SessionRole, target: TargetSessionAttrs) => {
  const verdict = judgeRole(role, target)
  return verdict.ok ? true : verdict.reason
}

describe('judgeRole', () => {
  it.each(table)('%s: primary %s, read-only primary %s, standby %s', (target, onPrimary, onReadOnlyPrimary, onStandby) => {
    expect(outcome(primary, target)).toBe(onPrimary)
    expect(outcome(readOnlyPrimary, target)).toBe(onReadOnlyPrimary)
    expect(outcome(standby, target)).toBe(onStandby)
  })

  it('covers every target_session_attrs value', () => {
    expect(table.map(([target]) => target)).toEqual([...TARGET_SESSION_ATTRS])
  })
})
