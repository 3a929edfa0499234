// @pg-ha/db-ha: libpq-compatible multi-host DSNs and a failover-aware pool for node-postgres.
export * from './dsn/index.js'
export * from './errors/index.js'
export * from './pool/index.js'
export * from './retry/index.js'
export {
  SSL_MODES,
  TARGET_SESSION_ATTRS,
  type ConnectionSettings,
  type HostSpec,
  type LoadBalanceHosts,
  type SslMode,
  type TargetSessionAttrs,
} from './settings/connection-settings.js'
