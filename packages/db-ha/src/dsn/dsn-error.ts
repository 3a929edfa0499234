import type { DsnErrorCode } from '../errors/codes.js'
import { DbHaError } from '../errors/db-ha-error.js'

/**
 * A DSN or a connection setting is invalid, or valid for libpq but not something db-ha can honour
 * (DSN_UNSUPPORTED: refused rather than silently dropped). Messages follow libpq's and never carry
 * a password.
 */
export class DsnError extends DbHaError<DsnErrorCode> {
  constructor(
    code: DsnErrorCode,
    message: string,
    readonly keyword?: string,
  ) {
    super(code, message)
    this.name = 'DsnError'
  }
}
