// Decides whether an error means "the server went away or the role moved" (failover-class) and
// whether we can prove the statement took no effect. Works on shapes, not classes, so it covers
// pg, pg-pool, Node sockets, Prisma 7 (+ @prisma/adapter-pg) and our own errors without imports.
import { DB_HA_ERROR_CODES } from './codes.js'
import { errorChain, stringField } from './error-chain.js'

export interface ErrorClassification {
  /** 'failover': the server went away or its role changed; the same call may succeed shortly. */
  kind: 'failover' | 'other'
  /**
   * 'no': proven the statement was never sent, or was rejected without being applied.
   * 'unknown': it may have been applied (connection lost mid-statement), or we cannot tell.
   */
  sent: 'no' | 'unknown'
  /** Short human-readable cause, for logs. */
  reason: string
  /** SQLSTATE found in the error chain, if any. */
  sqlState?: string
}

type Verdict = ErrorClassification & { final?: true }

const SQLSTATE_FAILOVER: Record<string, Pick<ErrorClassification, 'sent' | 'reason'>> = {
  '57P01': { sent: 'unknown', reason: 'admin_shutdown' },
  '57P02': { sent: 'unknown', reason: 'crash_shutdown' },
  // Only sent while a server starts up or shuts down, before a session exists.
  '57P03': { sent: 'no', reason: 'cannot_connect_now' },
  // A write reached a read-only (demoted) server: rejected, nothing applied.
  '25006': { sent: 'no', reason: 'read_only_sql_transaction' },
  // The connection was never established.
  '08001': { sent: 'no', reason: 'sqlclient_unable_to_establish_sqlconnection' },
  '08004': { sent: 'no', reason: 'sqlserver_rejected_establishment_of_sqlconnection' },
}

// ECONNREFUSED only happens in connect(); the others also happen mid-query (then: unknown).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN'])

// Prisma codes whose meaning alone is decisive (driver details are not always attached).
const PRISMA_FAILOVER: Record<string, Pick<ErrorClassification, 'sent' | 'reason'>> = {
  P1001: { sent: 'no', reason: 'Prisma P1001 DatabaseNotReachable' },
  P1008: { sent: 'unknown', reason: 'Prisma P1008 SocketTimeout' },
  P1017: { sent: 'unknown', reason: 'Prisma P1017 ConnectionClosed' },
}

// @prisma/adapter-pg's error kinds (under meta.driverAdapterError.cause.kind).
const ADAPTER_KINDS: Record<string, Pick<ErrorClassification, 'sent' | 'reason'>> = {
  DatabaseNotReachable: { sent: 'no', reason: 'Prisma adapter DatabaseNotReachable' },
  SocketTimeout: { sent: 'unknown', reason: 'Prisma adapter SocketTimeout' },
  ConnectionClosed: { sent: 'unknown', reason: 'Prisma adapter ConnectionClosed' },
}

// Code-less errors of pg and pg-pool, matched by message.
const MESSAGES: { pattern: RegExp; sent: 'no' | 'unknown'; reason: string }[] = [
  // pg-pool's connect timeout wraps the client's error; it happened while connecting.
  { pattern: /Connection terminated due to connection timeout/, sent: 'no', reason: 'connection timeout' },
  { pattern: /timeout exceeded when trying to connect/, sent: 'no', reason: 'pool connect timeout' },
  { pattern: /^timeout expired$/, sent: 'no', reason: 'connect timeout' },
  // pg refuses to send on a client whose connection already failed.
  { pattern: /Client has encountered a connection error and is not queryable/, sent: 'no', reason: 'connection already broken' },
  { pattern: /Connection terminated unexpectedly/, sent: 'unknown', reason: 'connection terminated unexpectedly' },
  // pg's client-side query_timeout: the only way to notice a primary cut off mid-statement
  // before TCP gives up; the server may still have applied it.
  { pattern: /^Query read timeout$/, sent: 'unknown', reason: 'query timeout' },
]

const PRISMA_CODE = /^P[1-9]\d{3}$/
// No SQLSTATE class starts with E, unlike Node's 5-letter codes (EPERM, EBUSY).
const SQLSTATE = /^(?!E)[0-9A-Z]{5}$/

export function classifyError(err: unknown): ErrorClassification {
  let sqlState: string | undefined
  // Outermost decisive link wins: wrappers know the phase (e.g. pg-pool's connect timeout wraps
  // "terminated unexpectedly", which alone would mean mid-query).
  for (const link of errorChain(err)) {
    const verdict = judge(link)
    if (!verdict) continue
    if (verdict.final || verdict.kind === 'failover') {
      delete verdict.final
      return verdict
    }
    sqlState ??= verdict.sqlState
  }
  return {
    kind: 'other',
    sent: 'unknown',
    reason: sqlState ? `SQLSTATE ${sqlState}` : 'not a failover error',
    ...(sqlState && { sqlState }),
  }
}

export function isFailoverError(err: unknown): boolean {
  return classifyError(err).kind === 'failover'
}

function judge(link: object): Verdict | undefined {
  const code = stringField(link, 'code')
  if (code === DB_HA_ERROR_CODES.DB_HA_NO_SUITABLE_HOST) {
    // Every host refusing our credentials is not a failover; anything else may be one in progress.
    const attempts = (link as { attempts?: { reason?: string }[] }).attempts ?? []
    const authOnly = attempts.length > 0 && attempts.every((a) => a.reason === 'auth-failed')
    return { kind: authOnly ? 'other' : 'failover', sent: 'no', reason: 'no suitable host', final: true }
  }
  if (code === DB_HA_ERROR_CODES.DB_HA_ROLE_CHANGED) return { kind: 'failover', sent: 'no', reason: 'host role changed' }
  // withRetry (or the pool, for a commit not replicated) already decided about these; classifying
  // their cause again would retry twice, or retry a write that is already on the server.
  if (code === DB_HA_ERROR_CODES.DB_HA_OUTCOME_UNKNOWN || code === DB_HA_ERROR_CODES.DB_HA_RETRY_BUDGET_EXHAUSTED) {
    const why = stringField(link, 'reason')
    return { kind: 'other', sent: 'unknown', reason: why && why !== 'interrupted' ? `${code} ${why}` : code, final: true }
  }

  if (code && SOCKET_CODES.has(code)) {
    const sent = code === 'ECONNREFUSED' || stringField(link, 'syscall') === 'connect' ? 'no' : 'unknown'
    return { kind: 'failover', sent, reason: code }
  }
  if (code && PRISMA_CODE.test(code)) {
    const known = PRISMA_FAILOVER[code]
    if (known) return { kind: 'failover', ...known }
    // P2010 (raw) and P2039 put the SQLSTATE in the message when the details are missing.
    const inMessage = /Code: `([0-9A-Z]{5})`/.exec(stringField(link, 'message') ?? '')?.[1]
    if (inMessage && !hasDriverDetails(link)) return bySqlState(inMessage)
    return undefined
  }
  const sqlStateCode = code && SQLSTATE.test(code) ? code : stringField(link, 'originalCode')
  if (sqlStateCode && SQLSTATE.test(sqlStateCode)) return bySqlState(sqlStateCode)

  const kind = stringField(link, 'kind')
  const adapterKind = kind ? ADAPTER_KINDS[kind] : undefined
  if (adapterKind) return { kind: 'failover', ...adapterKind }

  const message = stringField(link, 'message')
  const match = message ? MESSAGES.find((m) => m.pattern.test(message)) : undefined
  if (match) return { kind: 'failover', sent: match.sent, reason: match.reason }
  return undefined
}

function bySqlState(sqlState: string): Verdict {
  const known = SQLSTATE_FAILOVER[sqlState]
  if (known) return { kind: 'failover', sqlState, sent: known.sent, reason: `SQLSTATE ${sqlState} ${known.reason}` }
  // Class 08: connection exception; the statement may have been in flight.
  if (sqlState.startsWith('08')) return { kind: 'failover', sqlState, sent: 'unknown', reason: `SQLSTATE ${sqlState} connection exception` }
  return { kind: 'other', sqlState, sent: 'unknown', reason: `SQLSTATE ${sqlState}` }
}

function hasDriverDetails(link: object): boolean {
  const meta = (link as { meta?: { driverAdapterError?: unknown } }).meta
  return typeof meta === 'object' && meta !== null && meta.driverAdapterError !== undefined
}
