// What a pool knows about the cluster: the host that last matched, hosts suspected after an
// error, and the figures behind the metrics snapshot. One instance per pool.
import { EventEmitter } from 'node:events'
import type { HostSpec } from '../settings/connection-settings.js'
import { hostKey } from './client-config.js'

export interface DbHaSnapshot {
  /** host:port of the host that last matched target_session_attrs. */
  currentHost: string | null
  /** Times the matching host changed from one known host to another. */
  failoversObserved: number
  rediscoveries: number
  lastRediscoveryMs: number | null
  connectionsPerHost: Record<string, number>
  suspectHosts: string[]
  /** Suspects whose statements timed out or whose commits could not be replicated. */
  stuckHosts: string[]
}

export interface DbHaEvents {
  'host-changed': [{ from: string | null; to: string }]
  'host-suspect': [{ host: string; reason: string; stuck: boolean }]
  rediscovered: [{ host: string; durationMs: number }]
}

export class HostState extends EventEmitter<DbHaEvents> {
  #current: HostSpec | null = null
  #lastMatched: string | null = null
  #suspects = new Map<string, number>()
  #stuck = new Set<string>()
  #connections = new Map<string, number>()
  #failovers = 0
  #rediscoveries = 0
  #lastRediscoveryMs: number | null = null
  /** Until when checkouts re-verify a pooled connection's role. */
  suspectedUntil = 0

  readonly #remember: boolean

  /** @param remember false for load-balanced pools: no current host, host changes are not failovers. */
  constructor(
    private readonly suspectWindowMs: number,
    { remember = true } = {},
  ) {
    super()
    this.#remember = remember
  }

  get current(): HostSpec | null {
    return this.#current
  }

  /** Whether the pool keeps to one host (false for load-balanced pools). */
  get remembers(): boolean {
    return this.#remember
  }

  matched(host: HostSpec, durationMs?: number) {
    const key = hostKey(host)
    const from = this.#lastMatched
    this.#suspects.delete(key)
    this.#stuck.delete(key)
    if (this.#remember) this.#current = host
    if (this.#remember && from !== key) {
      if (from !== null) this.#failovers++
      this.#lastMatched = key
      this.emit('host-changed', { from, to: key })
    }
    if (durationMs !== undefined) {
      this.#rediscoveries++
      this.#lastRediscoveryMs = durationMs
      this.emit('rediscovered', { host: key, durationMs })
    }
  }

  /**
   * @param stuck the host answers but does not get work done (statements timing out, commits not
   *   replicated): until it matches again, discovery prefers another host on the same timeline.
   */
  suspect(host: HostSpec, reason: string, { stuck = false } = {}) {
    const key = hostKey(host)
    this.#suspects.set(key, Date.now())
    if (stuck) this.#stuck.add(key)
    this.suspectedUntil = Date.now() + this.suspectWindowMs
    if (this.#current && hostKey(this.#current) === key) this.#current = null
    this.emit('host-suspect', { host: key, reason, stuck })
  }

  isSuspect(host: HostSpec) {
    return this.#suspects.has(hostKey(host))
  }

  isStuck(host: HostSpec) {
    return this.#stuck.has(hostKey(host))
  }

  /** The remembered host first, then the list order, suspects last. */
  order(hosts: HostSpec[]): HostSpec[] {
    const current = this.#current ? hostKey(this.#current) : null
    const rank = (h: HostSpec) => (hostKey(h) === current ? 0 : this.#suspects.has(hostKey(h)) ? 2 : 1)
    return [...hosts].sort((a, b) => rank(a) - rank(b))
  }

  opened(host: HostSpec) {
    const key = hostKey(host)
    this.#connections.set(key, (this.#connections.get(key) ?? 0) + 1)
  }

  closed(host: HostSpec) {
    const key = hostKey(host)
    this.#connections.set(key, Math.max(0, (this.#connections.get(key) ?? 0) - 1))
  }

  snapshot(): DbHaSnapshot {
    return {
      currentHost: this.#current ? hostKey(this.#current) : null,
      failoversObserved: this.#failovers,
      rediscoveries: this.#rediscoveries,
      lastRediscoveryMs: this.#lastRediscoveryMs,
      connectionsPerHost: Object.fromEntries(this.#connections),
      suspectHosts: [...this.#suspects.keys()],
      stuckHosts: [...this.#stuck],
    }
  }
}
