// libpq's two DSN forms, parsed to the keyword/value pairs PQconninfoParse would return. This follows
// fe-connect.c (conninfo_parse, conninfo_uri_parse_options, conninfo_uri_decode, conninfo_storeval)
// and test/dsn-libpq-conformance.test.ts checks it against the installed libpq. Where it differs on
// purpose: errors never quote the DSN nor a token that may be part of a password (libpq's may); a NUL
// is an error (libpq would silently stop reading there); percent-escapes must decode to UTF-8, since
// a JS string (and so pg) can carry nothing else.
import { DB_HA_ERROR_CODES } from '../errors/codes.js'
import { DsnError } from './dsn-error.js'

// libpq 15's keywords, plus load_balance_hosts (libpq 16), which db-ha implements itself.
export const DSN_KEYWORDS = new Set([
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'passfile',
  'channel_binding',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'sslmode',
  'sslcompression',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'gssencmode',
  'krbsrvname',
  'gsslib',
  'service',
  'target_session_attrs',
  'replication',
  'load_balance_hosts',
])

const SECRET_KEYWORDS = new Set(['password', 'sslpassword'])
const URI_PREFIX = /^postgres(?:ql)?:\/\//

export function parseDsn(dsn: string): Record<string, string> {
  if (dsn.includes('\0')) throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, 'connection info string contains a NUL character')
  return URI_PREFIX.test(dsn) ? parseUri(dsn) : parseKeywordValue(dsn)
}

// isspace() in the C locale libpq runs in; /\s/ would also take U+00A0, U+FEFF and the like.
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r'

/** conninfo_storeval: false for an unknown keyword. */
function store(out: Record<string, string>, keyword: string, value: string): boolean {
  // libpq's old spelling of sslmode: a value starting with "1" means require, any other prefer.
  if (keyword === 'requiressl') return store(out, 'sslmode', value.startsWith('1') ? 'require' : 'prefer')
  if (!DSN_KEYWORDS.has(keyword)) return false
  out[keyword] = value
  return true
}

/**
 * How a message may name the token it stumbled on. libpq quotes it, but a token right after a password
 * may be the password's unquoted tail, and one with characters no keyword has may be a URI with its
 * password: those are named by offset, and carry no `keyword`.
 */
function tokenName(token: string, offset: number, afterSecret: boolean): { text: string; keyword?: string } {
  if (!afterSecret && /^[A-Za-z0-9_]{0,64}$/.test(token)) return { text: `"${token}"`, keyword: token }
  return { text: `the token at offset ${offset}` }
}

// ---- keyword = value ----

interface Pair {
  keyword: string
  keywordAt: number
  /** Absent when no "=" follows the keyword; `end` is past the closing quote, if any. */
  value?: { text: string; start: number; end: number; closed: boolean }
}

/** conninfo_parse's scan. It never throws: the parser decides what is an error, the redactor reads on. */
function* keywordValuePairs(dsn: string): Generator<Pair> {
  let i = 0
  while (i < dsn.length) {
    if (isSpace(dsn[i])) {
      i++
      continue
    }
    const keywordAt = i
    while (i < dsn.length && dsn[i] !== '=' && !isSpace(dsn[i])) i++
    const keyword = dsn.slice(keywordAt, i)
    while (isSpace(dsn[i])) i++
    if (dsn[i] !== '=') {
      yield { keyword, keywordAt }
      continue
    }
    i++
    // Blanks after "=" are skipped even when a value never comes: "host= port=1" sets host to "port=1".
    while (isSpace(dsn[i])) i++
    const start = i
    let text = ''
    let closed = true
    if (dsn[i] === "'") {
      // Quoted: a backslash takes the next character literally; whitespace is part of the value.
      closed = false
      i++
      while (i < dsn.length) {
        const c = dsn.charAt(i++)
        if (c === "'") {
          closed = true
          break
        }
        if (c !== '\\') text += c
        else if (i < dsn.length) text += dsn.charAt(i++)
      }
    } else {
      // Unquoted: up to whitespace, and here too a backslash escapes (even a space); quotes are literal.
      while (i < dsn.length && !isSpace(dsn[i])) {
        if (dsn[i] === '\\') i++
        if (i < dsn.length) text += dsn.charAt(i++)
      }
    }
    yield { keyword, keywordAt, value: { text, start, end: i, closed } }
  }
}

function parseKeywordValue(dsn: string): Record<string, string> {
  const out: Record<string, string> = {}
  let afterSecret = false
  for (const { keyword, keywordAt, value } of keywordValuePairs(dsn)) {
    const name = tokenName(keyword, keywordAt, afterSecret)
    if (!value) throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, `missing "=" after ${name.text} in connection info string`, name.keyword)
    if (!value.closed)
      throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, 'unterminated quoted string in connection info string', name.keyword)
    if (!store(out, keyword, value.text))
      throw new DsnError(DB_HA_ERROR_CODES.DSN_INVALID_OPTION, `invalid connection option ${name.text}`, name.keyword)
    afterSecret = SECRET_KEYWORDS.has(keyword)
  }
  return out
}

// ---- URI ----

/** Index of the "@" ending the credentials: the first "@" before any "/", as libpq looks no further. */
function credentialsEnd(uri: string, from: number): number {
  for (let i = from; i < uri.length; i++) {
    if (uri[i] === '@') return i
    if (uri[i] === '/') return -1
  }
  return -1
}

/** Index of the first of `stops` at or after `from`, or the end. */
function scanTo(text: string, from: number, stops: string): number {
  let i = from
  while (i < text.length && !stops.includes(text.charAt(i))) i++
  return i
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** conninfo_uri_decode, on UTF-8: %XX is byte XX (not 00), anything else stays as it is. */
function uriDecode(text: string, what: string, keyword?: string): string {
  if (!text.includes('%')) return text
  const chunks: Buffer[] = []
  let i = 0
  for (let at = text.indexOf('%'); at >= 0; at = text.indexOf('%', i)) {
    const hex = text.slice(at + 1, at + 3)
    // Never quote the text: it may be a password.
    if (!/^[0-9A-Fa-f]{2}$/.test(hex))
      throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, `invalid percent-encoded token in the URI's ${what}`, keyword)
    const byte = Number.parseInt(hex, 16)
    if (byte === 0) throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, `forbidden value %00 in percent-encoded ${what} in URI`, keyword)
    chunks.push(Buffer.from(text.slice(i, at)), Buffer.of(byte))
    i = at + 3
  }
  chunks.push(Buffer.from(text.slice(i)))
  try {
    return utf8.decode(Buffer.concat(chunks))
  } catch {
    throw new DsnError(DB_HA_ERROR_CODES.DSN_BAD_VALUE, `percent-encoded ${what} in URI is not valid UTF-8`, keyword)
  }
}

// postgresql://[user[:password]@][host][:port][,...][/dbname][?param1=value1&...]
function parseUri(uri: string): Record<string, string> {
  const out: Record<string, string> = {}
  let p = uri.indexOf('//') + 2

  // A password's own "@" or "/" must be percent-encoded; ":", "?" and "," need not.
  const at = credentialsEnd(uri, p)
  if (at >= 0) {
    const credentials = uri.slice(p, at)
    const colon = credentials.indexOf(':')
    const user = colon < 0 ? credentials : credentials.slice(0, colon)
    const password = colon < 0 ? '' : credentials.slice(colon + 1)
    if (user) out.user = uriDecode(user, 'user name', 'user')
    if (password) out.password = uriDecode(password, 'password', 'password')
    p = at + 1
  }

  // host[:port] entries, each bracketed or up to ":", "/", "?" or ",". libpq joins them undecoded and
  // keeps the commas even of empty entries, so "h1,h2" gives port "," (and ",," an empty host list).
  let hosts = ''
  let ports = ''
  for (;;) {
    if (uri[p] === '[') {
      const close = uri.indexOf(']', p + 1)
      if (close < 0)
        throw new DsnError(
          DB_HA_ERROR_CODES.DSN_SYNTAX,
          'end of string reached when looking for matching "]" in IPv6 host address in URI',
          'host',
        )
      if (close === p + 1) throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, 'IPv6 host address may not be empty in URI', 'host')
      hosts += uri.slice(p + 1, close)
      p = close + 1
      const next = uri[p]
      if (next !== undefined && !':/?,'.includes(next)) {
        throw new DsnError(
          DB_HA_ERROR_CODES.DSN_SYNTAX,
          `unexpected character "${next}" at position ${p + 1} in URI (expected ":" or "/")`,
          'host',
        )
      }
    } else {
      const end = scanTo(uri, p, ':/?,')
      hosts += uri.slice(p, end)
      p = end
    }
    if (uri[p] === ':') {
      const end = scanTo(uri, p + 1, '/?,')
      ports += uri.slice(p + 1, end)
      p = end
    }
    if (uri[p] !== ',') break
    p++
    hosts += ','
    ports += ','
  }
  if (hosts) out.host = uriDecode(hosts, 'host', 'host')
  if (ports) out.port = uriDecode(ports, 'port', 'port')

  if (uri[p] === '/') {
    const end = scanTo(uri, p + 1, '?')
    // An empty path sets no dbname, so PGDATABASE still applies.
    const dbname = uri.slice(p + 1, end)
    if (dbname) out.dbname = uriDecode(dbname, 'database name', 'dbname')
    p = end
  }
  if (uri[p] === '?') parseUriQuery(uri, p + 1, out)
  return out
}

/** conninfo_uri_parse_params: later parameters override earlier ones and the authority's parts. */
function parseUriQuery(uri: string, from: number, out: Record<string, string>) {
  let afterSecret = false
  // Only a trailing "&" is harmless: an empty parameter anywhere else lacks its "=".
  for (let p = from; p < uri.length;) {
    const end = scanTo(uri, p, '&')
    const param = uri.slice(p, end)
    const eq = param.indexOf('=')
    if (eq < 0) {
      const name = tokenName(param, p, afterSecret)
      throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, `missing key/value separator "=" in URI query parameter: ${name.text}`, name.keyword)
    }
    if (param.includes('=', eq + 1)) {
      const name = tokenName(param.slice(0, eq), p, afterSecret)
      throw new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, `extra key/value separator "=" in URI query parameter: ${name.text}`, name.keyword)
    }
    const keyword = uriDecode(param.slice(0, eq), 'query parameter name')
    const value = uriDecode(param.slice(eq + 1), 'query parameter value', DSN_KEYWORDS.has(keyword) ? keyword : undefined)
    // JDBC's spelling, which libpq takes in URIs only; ssl=false is an unknown parameter.
    const stored = keyword === 'ssl' && value === 'true' ? store(out, 'sslmode', 'require') : store(out, keyword, value)
    if (!stored) {
      const name = tokenName(keyword, p, afterSecret)
      throw new DsnError(DB_HA_ERROR_CODES.DSN_INVALID_OPTION, `invalid URI query parameter: ${name.text}`, name.keyword)
    }
    afterSecret = SECRET_KEYWORDS.has(keyword)
    p = end + 1
  }
}

// ---- redaction ----

/**
 * The DSN with every password and sslpassword masked, for messages and logs. It masks what libpq would
 * read as one and, in a DSN libpq would reject, errs towards masking more: a password's unquoted tail,
 * the token after a "password" that lacks its "=", everything up to a URI password's last "@".
 */
export function redactDsn(dsn: string): string {
  if (URI_PREFIX.test(dsn)) return mask(dsn, uriSecrets(dsn))
  // A URI libpq does not take for one (after a blank, say) may still carry credentials.
  return mask(dsn, keywordValueSecrets(dsn)).replace(/(postgres(?:ql)?:\/\/[^\s:@/]*:)[^\s/]*@/g, '$1***@')
}

type Span = [start: number, end: number]

function mask(text: string, spans: Span[]): string {
  let out = ''
  let copied = 0
  for (const [start, end] of spans) {
    out += `${text.slice(copied, start)}***`
    copied = end
  }
  return out + text.slice(copied)
}

function keywordValueSecrets(dsn: string): Span[] {
  const spans: Span[] = []
  let afterSecret = false
  for (const { keyword, keywordAt, value } of keywordValuePairs(dsn)) {
    if (afterSecret && !(value && DSN_KEYWORDS.has(keyword))) {
      // Not keyword=value: likely more of the password, unquoted.
      spans.push([keywordAt, value ? value.end : keywordAt + keyword.length])
      continue
    }
    afterSecret = SECRET_KEYWORDS.has(keyword)
    if (afterSecret && value) spans.push([value.start, value.end])
  }
  return spans
}

function uriSecrets(uri: string): Span[] {
  const spans: Span[] = []
  const from = uri.indexOf('//') + 2
  let at = credentialsEnd(uri, from)
  if (at >= 0) {
    // libpq ends the password at the first "@"; a later one before the host's end was likely meant in it.
    for (let i = at + 1; i < uri.length && !'/?'.includes(uri.charAt(i)); i++) if (uri[i] === '@') at = i
    const colon = uri.indexOf(':', from)
    if (colon >= 0 && colon < at) spans.push([colon + 1, at])
  }
  const query = uri.indexOf('?', Math.max(at + 1, from))
  if (query < 0) return spans
  let afterSecret = false
  for (let p = query + 1; p < uri.length;) {
    const end = scanTo(uri, p, '&')
    const param = uri.slice(p, end)
    const eq = param.indexOf('=')
    let keyword = eq < 0 ? param : param.slice(0, eq)
    try {
      keyword = uriDecode(keyword, 'query parameter name')
    } catch {
      // Undecodable: judge it as written.
    }
    if (afterSecret && !(eq >= 0 && DSN_KEYWORDS.has(keyword))) {
      if (param) spans.push([p, end])
    } else {
      afterSecret = SECRET_KEYWORDS.has(keyword)
      if (afterSecret && eq >= 0) spans.push([p + eq + 1, end])
    }
    p = end + 1
  }
  return spans
}
