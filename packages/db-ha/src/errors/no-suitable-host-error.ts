import type { TargetSessionAttrs } from '../settings/connection-settings.js'
import { NO_SUITABLE_HOST } from './codes.js'
import { DbHaError } from './db-ha-error.js'

export type HostRejectReason = 'refused' | 'timeout' | 'read-only' | 'not-read-only' | 'auth-failed' | 'not-standby' | 'lagging' | 'error'

export interface HostRejection {
  host: string
  port: number
  reason: HostRejectReason
  /** Free text appended after the reason, e.g. "after 3 s" or an error code. */
  detail?: string
}

/**
 * No host of the list matched target_session_attrs. Raised before any statement was sent, so a
 * retry is always safe. The message lists every host and why it was rejected, like libpq's.
 */
export class NoSuitableHostError extends DbHaError<typeof NO_SUITABLE_HOST> {
  readonly attempts: readonly HostRejection[]

  constructor(
    readonly targetSessionAttrs: TargetSessionAttrs,
    attempts: readonly HostRejection[],
  ) {
    // Details often carry driver messages; scrub them before they reach the message or logs.
    const clean = attempts.map((a) => (a.detail === undefined ? { ...a } : { ...a, detail: redactSecrets(a.detail) }))
    const list = clean.length > 0 ? clean.map(describe).join('; ') : 'no hosts tried'
    super(NO_SUITABLE_HOST, `no suitable host for target_session_attrs=${targetSessionAttrs}: ${list}`)
    this.name = 'NoSuitableHostError'
    this.attempts = clean
  }
}

function describe({ host, port, reason, detail }: HostRejection): string {
  return `${formatAddress(host, port)} ${reason}${detail ? ` ${detail}` : ''}`
}

function formatAddress(host: string, port: number): string {
  if (host.startsWith('/')) return `${host.replace(/\/$/, '')}/.s.PGSQL.${port}`
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** Masks `password=…` (DSN keyword or URL query) and `user:secret@` in URLs. */
export function redactSecrets(text: string): string {
  return text.replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]+)/gi, '$1***').replace(/(\w+:\/\/[^/:@\s]*:)[^@\s]*@/g, '$1***@')
}
