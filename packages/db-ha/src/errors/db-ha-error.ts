import type { DbHaErrorCode } from './codes.js'

/**
 * The base of every db-ha error: `code` is one of DB_HA_ERROR_CODES (stable, for code that must
 * tell errors apart), `cause` the error it wraps, if any.
 */
export class DbHaError<Code extends DbHaErrorCode = DbHaErrorCode> extends Error {
  readonly code: Code

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = 'DbHaError'
  }
}
