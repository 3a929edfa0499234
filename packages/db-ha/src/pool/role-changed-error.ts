import type { TargetSessionAttrs } from '../settings/connection-settings.js'

/** A host no longer matches target_session_attrs (e.g. the primary was demoted). Nothing was sent. */
export class RoleChangedError extends Error {
  readonly code = 'DB_HA_ROLE_CHANGED'

  constructor(readonly host: string, readonly reason: string, readonly targetSessionAttrs: TargetSessionAttrs) {
    super(`${host} no longer matches target_session_attrs=${targetSessionAttrs}: ${reason}`)
    this.name = 'RoleChangedError'
  }
}
