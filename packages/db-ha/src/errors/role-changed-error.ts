import type { TargetSessionAttrs } from '../settings/connection-settings.js'
import { DB_HA_ERROR_CODES } from './codes.js'
import { DbHaError } from './db-ha-error.js'

/** A host no longer matches target_session_attrs (e.g. the primary was demoted). Nothing was sent. */
export class RoleChangedError extends DbHaError<typeof DB_HA_ERROR_CODES.DB_HA_ROLE_CHANGED> {
  constructor(
    readonly host: string,
    readonly reason: string,
    readonly targetSessionAttrs: TargetSessionAttrs,
  ) {
    super(DB_HA_ERROR_CODES.DB_HA_ROLE_CHANGED, `${host} no longer matches target_session_attrs=${targetSessionAttrs}: ${reason}`)
    this.name = 'RoleChangedError'
  }
}
