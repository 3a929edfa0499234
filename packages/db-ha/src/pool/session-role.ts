// libpq's target_session_attrs rules. PG14+ servers report in_hot_standby and
// default_transaction_read_only at startup, so checking a new connection costs no round trip;
// older servers are asked with the same queries libpq uses.
import type pg from 'pg'
import type { TargetSessionAttrs } from '../settings/connection-settings.js'

export interface SessionRole {
  readOnly: boolean
  inHotStandby: boolean
}

export type RoleVerdict = { ok: true } | { ok: false; reason: 'read-only' | 'not-read-only' | 'not-standby' | 'standby' }

/** Statuses the server sent during startup (filled by a `parameterStatus` listener). */
export type ServerStatuses = Record<string, string>

export async function sessionRole(client: pg.Client, statuses: ServerStatuses): Promise<SessionRole> {
  const hot = statuses['in_hot_standby']
  const readOnlyDefault = statuses['default_transaction_read_only']
  if (hot !== undefined && readOnlyDefault !== undefined) {
    return { inHotStandby: hot === 'on', readOnly: hot === 'on' || readOnlyDefault === 'on' }
  }
  const result = await client.query<{ read_only: string; recovery: boolean }>(
    "select current_setting('transaction_read_only') as read_only, pg_is_in_recovery() as recovery",
  )
  const row = result.rows[0]
  return { readOnly: row?.read_only === 'on', inHotStandby: row?.recovery === true }
}

/** Whether a session qualifies; `prefer-standby`'s second pass (any host) is the caller's. */
export function judgeRole(role: SessionRole, target: TargetSessionAttrs): RoleVerdict {
  switch (target) {
    case 'any':
      return { ok: true }
    case 'read-write':
      return role.readOnly ? { ok: false, reason: 'read-only' } : { ok: true }
    case 'read-only':
      return role.readOnly ? { ok: true } : { ok: false, reason: 'not-read-only' }
    case 'primary':
      return role.inHotStandby ? { ok: false, reason: 'standby' } : { ok: true }
    case 'standby':
    case 'prefer-standby':
      return role.inHotStandby ? { ok: true } : { ok: false, reason: 'not-standby' }
  }
}
