export { DsnError } from './dsn-error.js'
export { DSN_KEYWORDS, parseDsn, redactDsn } from './parse-dsn.js'
export { resolveSettings, type ResolveInput } from './resolve-settings.js'
