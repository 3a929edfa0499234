// libpq's two DSN forms, parsed to the keyword/value pairs PQconninfoParse would return.
import { DsnError } from './dsn-error.js'

// libpq 15's keywords, plus load_balance_hosts (libpq 16), which db-ha implements itself.
export const DSN_KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'passfile', 'channel_binding', 'connect_timeout',
  'client_encoding', 'options', 'application_name', 'fallback_application_name', 'keepalives', 'keepalives_idle',
  'keepalives_interval', 'keepalives_count', 'tcp_user_timeout', 'sslmode', 'sslcompression', 'sslcert', 'sslkey',
  'sslpassword', 'sslrootcert', 'sslcrl', 'sslcrldir', 'sslsni', 'requirepeer', 'ssl_min_protocol_version',
  'ssl_max_protocol_version', 'gssencmode', 'krbsrvname', 'gsslib', 'service', 'target_session_attrs', 'replication',
  'load_balance_hosts',
])

export function parseDsn(dsn: string): Record<string, string> {
  return /^postgres(ql)?:\/\//.test(dsn) ? parseUri(dsn) : parseKeywordValue(dsn)
}

function setKeyword(out: Record<string, string>, keyword: string, value: string) {
  if (!DSN_KEYWORDS.has(keyword)) throw new DsnError('DSN_INVALID_OPTION', `invalid connection option "${keyword}"`, keyword)
  out[keyword] = value
}

function parseKeywordValue(dsn: string): Record<string, string> {
  const out: Record<string, string> = {}
  let i = 0
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c)
  while (i < dsn.length) {
    while (isSpace(dsn[i])) i++
    if (i >= dsn.length) break
    const start = i
    while (i < dsn.length && dsn[i] !== '=' && !isSpace(dsn[i])) i++
    const keyword = dsn.slice(start, i)
    while (isSpace(dsn[i])) i++
    if (dsn[i] !== '=') throw new DsnError('DSN_SYNTAX', `missing "=" after "${keyword}" in connection info string`, keyword)
    i++
    while (isSpace(dsn[i])) i++
    let value = ''
    if (dsn[i] === "'") {
      i++
      for (;;) {
        if (i >= dsn.length) throw new DsnError('DSN_SYNTAX', 'unterminated quoted string in connection info string', keyword)
        const c = dsn[i] as string
        if (c === '\\') {
          i++
          if (i < dsn.length) value += dsn[i]
          i++
        } else if (c === "'") {
          i++
          break
        } else {
          value += c
          i++
        }
      }
    } else {
      while (i < dsn.length && !isSpace(dsn[i])) {
        if (dsn[i] === '\\') i++
        if (i < dsn.length) value += dsn[i]
        i++
      }
    }
    setKeyword(out, keyword, value)
  }
  return out
}

function decode(part: string, what: string): string {
  if (/%(?![0-9a-fA-F]{2})/.test(part)) throw new DsnError('DSN_SYNTAX', `invalid percent-encoded token in ${what}`)
  const decoded = decodeURIComponent(part)
  if (decoded.includes('\0')) throw new DsnError('DSN_SYNTAX', `forbidden value %00 in percent-encoded ${what}`)
  return decoded
}

function parseUri(uri: string): Record<string, string> {
  const out: Record<string, string> = {}
  let rest = uri.replace(/^postgres(ql)?:\/\//, '')
  const queryAt = rest.indexOf('?')
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : ''
  if (queryAt >= 0) rest = rest.slice(0, queryAt)
  const slash = rest.indexOf('/')
  const authority = slash >= 0 ? rest.slice(0, slash) : rest
  const path = slash >= 0 ? rest.slice(slash + 1) : ''

  const at = authority.lastIndexOf('@')
  const hostPart = at >= 0 ? authority.slice(at + 1) : authority
  if (at >= 0) {
    const userinfo = authority.slice(0, at)
    const colon = userinfo.indexOf(':')
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo
    if (user) out.user = decode(user, 'user name')
    if (colon >= 0 && userinfo.length > colon + 1) out.password = decode(userinfo.slice(colon + 1), 'password')
  }

  const hosts: string[] = []
  const ports: string[] = []
  let anyPort = false
  for (const entry of hostPart.split(',')) {
    let host: string
    let port: string
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']')
      if (close < 0) throw new DsnError('DSN_SYNTAX', `end of string reached when looking for matching "]" in IPv6 host address in URI`)
      if (close === 1) throw new DsnError('DSN_SYNTAX', 'IPv6 host address may not be empty in URI')
      host = entry.slice(1, close)
      const after = entry.slice(close + 1)
      if (after && !after.startsWith(':')) throw new DsnError('DSN_SYNTAX', `unexpected character "${after[0]}" after IPv6 host address in URI`)
      port = after.slice(1)
    } else {
      const colon = entry.indexOf(':')
      host = colon >= 0 ? entry.slice(0, colon) : entry
      port = colon >= 0 ? entry.slice(colon + 1) : ''
    }
    hosts.push(decode(host, 'host'))
    ports.push(decode(port, 'port'))
    if (port) anyPort = true
  }
  if (hosts.some((h) => h !== '')) out.host = hosts.join(',')
  if (anyPort) out.port = ports.join(',')
  if (path) out.dbname = decode(path, 'database name')

  if (query) {
    for (const pair of query.split('&')) {
      if (!pair) continue
      const eq = pair.indexOf('=')
      if (eq < 0) throw new DsnError('DSN_SYNTAX', `missing key/value separator "=" in URI query parameter: "${pair}"`)
      if (pair.indexOf('=', eq + 1) >= 0) throw new DsnError('DSN_SYNTAX', `extra key/value separator "=" in URI query parameter: "${pair.slice(0, eq)}"`)
      const keyword = decode(pair.slice(0, eq), 'query parameter')
      const value = decode(pair.slice(eq + 1), 'query parameter')
      // The JDBC spelling libpq accepts in URIs.
      if (keyword === 'ssl' && value === 'true') {
        out.sslmode = 'require'
        continue
      }
      setKeyword(out, keyword, value)
    }
  }
  return out
}

/** A DSN with its password masked, for messages and logs. */
export function redactDsn(dsn: string): string {
  return dsn
    .replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi, '$1***')
    .replace(/(postgres(?:ql)?:\/\/[^:@/]*:)[^@]*@/, '$1***@')
    .replace(/([?&]password=)[^&]*/gi, '$1***')
}
