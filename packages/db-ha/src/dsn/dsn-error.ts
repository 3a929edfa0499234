/**
 * A DSN or a connection setting is invalid, or valid for libpq but not something db-ha can honour
 * (DSN_UNSUPPORTED: refused rather than silently dropped). Messages follow libpq's and never carry
 * a password.
 */
export class DsnError extends Error {
  constructor(readonly code: 'DSN_SYNTAX' | 'DSN_INVALID_OPTION' | 'DSN_BAD_VALUE' | 'DSN_UNSUPPORTED', message: string, readonly keyword?: string) {
    super(message)
    this.name = 'DsnError'
  }
}
