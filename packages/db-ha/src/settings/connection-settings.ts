// The resolved connection settings every part of db-ha works from (after DSN, explicit
// options, PG* environment and defaults have been merged, in that order of precedence).

export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number]

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

// libpq's ssl_min/max_protocol_version values; node's tls takes the same names.
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const
export type TlsVersion = (typeof TLS_VERSIONS)[number]

export type LoadBalanceHosts = 'disable' | 'random'

/** One entry of the host list; `host` may be a Unix socket directory (starts with "/"). */
export interface HostSpec {
  host: string
  hostaddr?: string
  port: number
}

export interface ConnectionSettings {
  hosts: HostSpec[]
  dbname?: string
  user?: string
  password?: string
  passfile?: string
  /** Seconds; undefined or 0 means wait indefinitely (libpq semantics). */
  connectTimeout?: number
  applicationName?: string
  options?: string
  sslmode: SslMode
  sslrootcert?: string
  sslcert?: string
  sslkey?: string
  /** Passphrase of sslkey. */
  sslpassword?: string
  /** A certificate revocation list file (PEM). */
  sslcrl?: string
  /** libpq's default is TLSv1.2. */
  sslMinProtocolVersion: TlsVersion
  sslMaxProtocolVersion?: TlsVersion
  /** channel_binding=prefer: SCRAM-SHA-256-PLUS when the server offers it over TLS. */
  channelBinding: boolean
  targetSessionAttrs: TargetSessionAttrs
  loadBalanceHosts: LoadBalanceHosts
  keepalives: boolean
  /** Seconds before the first keepalive probe. */
  keepalivesIdle?: number
}
