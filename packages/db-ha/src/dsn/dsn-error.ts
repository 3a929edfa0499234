/** A DSN or a connection setting is invalid. Messages follow libpq's and never carry a password. */
export class DsnError extends Error {
  constructor(readonly code: 'DSN_SYNTAX' | 'DSN_INVALID_OPTION' | 'DSN_BAD_VALUE', message: string, readonly keyword?: string) {
    super(message)
    this.name = 'DsnError'
  }
}
