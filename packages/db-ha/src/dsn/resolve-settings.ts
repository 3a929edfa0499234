// Settings resolve in one order: explicit option > DSN > PG* environment > libpq defaults. Every
// libpq setting given is honoured or refused (DSN_UNSUPPORTED, naming it and where it came from):
// none is silently dropped.
import { DB_HA_ERROR_CODES } from '../errors/codes.js'
import { SSL_MODES, TARGET_SESSION_ATTRS, TLS_VERSIONS, type ConnectionSettings, type HostSpec } from '../settings/connection-settings.js'
import { DsnError } from './dsn-error.js'
import { parseDsn } from './parse-dsn.js'

const ENV_KEYWORDS: Record<string, string> = {
  PGHOST: 'host',
  PGHOSTADDR: 'hostaddr',
  PGPORT: 'port',
  PGDATABASE: 'dbname',
  PGUSER: 'user',
  PGPASSWORD: 'password',
  PGPASSFILE: 'passfile',
  PGCONNECT_TIMEOUT: 'connect_timeout',
  PGAPPNAME: 'application_name',
  PGOPTIONS: 'options',
  PGSSLMODE: 'sslmode',
  PGSSLROOTCERT: 'sslrootcert',
  PGSSLCERT: 'sslcert',
  PGSSLKEY: 'sslkey',
  PGTARGETSESSIONATTRS: 'target_session_attrs',
  PGLOADBALANCEHOSTS: 'load_balance_hosts',
  PGSSLCRL: 'sslcrl',
  PGSSLMINPROTOCOLVERSION: 'ssl_min_protocol_version',
  PGSSLMAXPROTOCOLVERSION: 'ssl_max_protocol_version',
  // Read only to be refused (or accepted at the value db-ha has anyway), as a DSN keyword would be.
  PGCHANNELBINDING: 'channel_binding',
  PGSERVICE: 'service',
  PGSSLCOMPRESSION: 'sslcompression',
  PGSSLCRLDIR: 'sslcrldir',
  PGSSLSNI: 'sslsni',
  PGREQUIREPEER: 'requirepeer',
  PGGSSENCMODE: 'gssencmode',
  PGKRBSRVNAME: 'krbsrvname',
  PGGSSLIB: 'gsslib',
  PGCLIENTENCODING: 'client_encoding',
}

// Keywords db-ha takes only at the value it has anyway (node-postgres has no switch for them).
const FIXED_VALUES: Record<string, { values: string[]; why: string }> = {
  channel_binding: { values: ['disable', 'prefer'], why: 'node-postgres cannot refuse a server that does not offer channel binding' },
  client_encoding: { values: ['UTF8', 'utf8'], why: 'node-postgres always speaks UTF8' },
  gssencmode: { values: ['disable'], why: 'node-postgres has no GSSAPI encryption' },
  sslcompression: { values: ['0'], why: 'node-postgres never compresses TLS' },
  sslsni: { values: ['1'], why: 'node-postgres always sends SNI for a host name' },
}
// Keywords db-ha does not implement at all.
const UNSUPPORTED: Record<string, string> = {
  keepalives_interval: 'node-postgres sets only keepalives and keepalives_idle',
  keepalives_count: 'node-postgres sets only keepalives and keepalives_idle',
  tcp_user_timeout: 'node-postgres cannot set TCP_USER_TIMEOUT',
  sslcrldir: 'give the CRL as a file with sslcrl',
  requirepeer: 'node-postgres cannot check the peer of a Unix socket',
  krbsrvname: 'node-postgres has no Kerberos/GSSAPI authentication',
  gsslib: 'node-postgres has no Kerberos/GSSAPI authentication',
  service: 'pg_service.conf is not read: give its settings in the DSN',
  replication: 'db-ha opens no replication connections',
}

// Debian's libpq connects to this socket directory when no host is given.
const DEFAULT_HOST = '/var/run/postgresql'
const DEFAULT_PORT = 5432

export interface ResolveInput {
  dsn?: string
  options?: Partial<ConnectionSettings>
  env?: NodeJS.ProcessEnv
}

export function resolveSettings({ dsn, options = {}, env = process.env }: ResolveInput = {}): ConnectionSettings {
  const values: Record<string, string> = {}
  const source: Record<string, string> = {}
  for (const [variable, keyword] of Object.entries(ENV_KEYWORDS)) {
    const value = env[variable]
    if (value !== undefined && value !== '') {
      values[keyword] = value
      source[keyword] = variable
    }
  }
  // As in libpq, a keyword the DSN names wins over the environment even when its value is empty,
  // and an empty value then means the default.
  for (const [keyword, value] of Object.entries(dsn ? parseDsn(dsn) : {})) {
    values[keyword] = value
    source[keyword] = 'the DSN'
  }
  for (const [keyword, value] of Object.entries(values)) if (value === '') delete values[keyword]
  refuseWhatIsNotHonoured(values, source)

  const settings: ConnectionSettings = {
    hosts: hostList(values),
    dbname: values.dbname,
    user: values.user,
    password: values.password,
    passfile: values.passfile,
    connectTimeout: integer(values, 'connect_timeout'),
    applicationName: values.application_name ?? values.fallback_application_name,
    options: values.options,
    sslmode: oneOf(values, 'sslmode', SSL_MODES, 'prefer'),
    sslrootcert: values.sslrootcert,
    sslcert: values.sslcert,
    sslkey: values.sslkey,
    sslpassword: values.sslpassword,
    sslcrl: values.sslcrl,
    sslMinProtocolVersion: oneOf(values, 'ssl_min_protocol_version', TLS_VERSIONS, 'TLSv1.2'),
    sslMaxProtocolVersion:
      values.ssl_max_protocol_version === undefined ? undefined : oneOf(values, 'ssl_max_protocol_version', TLS_VERSIONS, 'TLSv1.3'),
    channelBinding: values.channel_binding === 'prefer',
    targetSessionAttrs: oneOf(values, 'target_session_attrs', TARGET_SESSION_ATTRS, 'any'),
    loadBalanceHosts: oneOf(values, 'load_balance_hosts', ['disable', 'random'] as const, 'disable'),
    keepalives: integer(values, 'keepalives') !== 0,
    keepalivesIdle: integer(values, 'keepalives_idle'),
  }
  const explicit = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<ConnectionSettings>
  return { ...settings, ...explicit }
}

function refuseWhatIsNotHonoured(values: Record<string, string>, source: Record<string, string>): void {
  for (const [keyword, value] of Object.entries(values)) {
    const fixed = FIXED_VALUES[keyword]
    const why = fixed && !fixed.values.includes(value) ? `${fixed.why} (accepted: ${fixed.values.join(', ')})` : UNSUPPORTED[keyword]
    if (why === undefined) continue
    // Only keywords of FIXED_VALUES and UNSUPPORTED get here: none holds a secret.
    throw new DsnError(
      DB_HA_ERROR_CODES.DSN_UNSUPPORTED,
      `connection option "${keyword}" = "${value}" from ${source[keyword]} is not supported by db-ha: ${why}`,
      keyword,
    )
  }
}

function hostList(values: Record<string, string>): HostSpec[] {
  const split = (s: string | undefined) => (s === undefined ? [] : s.split(','))
  const hosts = split(values.host)
  const addrs = split(values.hostaddr)
  const ports = split(values.port)
  const count = Math.max(hosts.length, addrs.length, 1)
  if (hosts.length > 0 && addrs.length > 0 && hosts.length !== addrs.length) {
    throw new DsnError(
      DB_HA_ERROR_CODES.DSN_BAD_VALUE,
      `could not match ${hosts.length} host names to ${addrs.length} hostaddr values`,
      'hostaddr',
    )
  }
  if (ports.length > 1 && ports.length !== count) {
    throw new DsnError(DB_HA_ERROR_CODES.DSN_BAD_VALUE, `could not match ${ports.length} port numbers to ${count} hosts`, 'port')
  }
  return Array.from({ length: count }, (_, i) => {
    const portText = (ports.length === 1 ? ports[0] : ports[i]) ?? ''
    const port = portText === '' ? DEFAULT_PORT : parseInteger(portText)
    if (port === undefined || port < 1 || port > 65535)
      throw new DsnError(DB_HA_ERROR_CODES.DSN_BAD_VALUE, `invalid port number: "${portText}"`, 'port')
    const hostaddr = addrs[i] || undefined
    const host = hosts[i] || hostaddr || DEFAULT_HOST
    return hostaddr ? { host, hostaddr, port } : { host, port }
  })
}

/** libpq's pqParseIntParam: a C int, blanks around it allowed; undefined if it is none. */
function parseInteger(text: string): number | undefined {
  if (!/^[ \t\n\v\f\r]*[+-]?\d+[ \t\n\v\f\r]*$/.test(text)) return undefined
  const value = Number.parseInt(text.trim(), 10)
  return value >= -(2 ** 31) && value < 2 ** 31 ? value : undefined
}

function integer(values: Record<string, string>, keyword: string): number | undefined {
  const text = values[keyword]
  if (text === undefined) return undefined
  const value = parseInteger(text)
  if (value === undefined)
    throw new DsnError(DB_HA_ERROR_CODES.DSN_BAD_VALUE, `invalid integer value "${text}" for connection option "${keyword}"`, keyword)
  return value
}

function oneOf<T extends string>(values: Record<string, string>, keyword: string, allowed: readonly T[], fallback: T): T {
  const text = values[keyword]
  if (text === undefined) return fallback
  if (!(allowed as readonly string[]).includes(text)) {
    throw new DsnError(
      DB_HA_ERROR_CODES.DSN_BAD_VALUE,
      `invalid ${keyword} value: "${text}" (expected one of ${allowed.join(', ')})`,
      keyword,
    )
  }
  return text as T
}
