// Finds a host matching target_session_attrs: the remembered one first, then the others
// concurrently, each started `staggerMs` after the previous or as soon as it fails (happy
// eyeballs), so a dead or black-holed host costs at most the stagger, not connect_timeout.
// For read-write and primary the first host that qualifies does not win outright: two hosts may
// both be read-write during a partition (see newest-timeline.ts). Every host is asked at once
// (its timeline too when it qualifies); once one qualified, each probe still running gets up to
// `staggerMs` from its start to answer, and the newest timeline among the qualified wins. So a
// host that does not answer in time is never chosen, and the comparison costs the slowest
// answering probe (measured on the lab: about 10-20 ms more than taking the first), on discovery
// only: new connections to the remembered host never come here.
import pg from 'pg'
import type { HostRejection, HostRejectReason } from '../errors/index.js'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'
import { clientConfigFor } from './client-config.js'
import { comparesTimelines, currentTimeline, preferNewestTimeline, type QualifiedHost } from './newest-timeline.js'
import { lagExceeded, measureReplayLag, type ReplayLagLimit } from './replay-lag.js'
import { judgeRole, sessionRole, type ServerStatuses } from './session-role.js'

interface ProbeResult {
  host: HostSpec
  /** Answered and usable in prefer-standby's second pass (connected, not too far behind). */
  fallback: boolean
  qualifies: boolean
  /** Asked only of qualifying hosts when timelines are compared. */
  timeline?: number | null
  attempt?: HostRejection
}

export interface DiscoverOptions {
  /**
   * Delay before the next host is tried; when timelines are compared (every host tried at once),
   * how long a probe may still take once another host qualified.
   */
  staggerMs: number
  /** While a slow host is pending, how often to ask the others again (0: never). */
  reprobeMs: number
  ssl: pg.ClientConfig['ssl']
  maxReplayLag?: ReplayLagLimit
  /** Hosts whose statements timed out or whose commits were not replicated lately. */
  isStuck?: (host: HostSpec) => boolean
}

/**
 * @returns the qualifying host (for read-write and primary: the one on the newest timeline among
 *   those that answered in time), or null with every host's rejection in `attempts`;
 *   `fallback` when it is prefer-standby's second pass (any host that answered).
 */
export async function discoverHost(
  settings: ConnectionSettings,
  candidates: HostSpec[],
  options: DiscoverOptions,
): Promise<{ host: HostSpec | null; fallback: boolean; attempts: HostRejection[] }> {
  const compare = comparesTimelines(settings.targetSessionAttrs)
  // The latest rejection per host (a host may be probed again, see below).
  const attempts = new Map<HostSpec, HostRejection>()
  const anyPass = new Set<HostSpec>()
  const clients = new Set<pg.Client>()
  const reprobes = new Set<NodeJS.Timeout>()
  // Hosts that answered (without qualifying) and are neither being probed nor due for it.
  const idle = new Set<HostSpec>()
  // Probes in flight, with their start time.
  const pending = new Map<HostSpec, number>()
  const qualified: QualifiedHost[] = []

  let fallback = false
  const winner = await new Promise<HostSpec | null>((resolve) => {
    let next = 0
    let done = false
    // Set once a host qualified while timelines are compared: no more staggering nor reprobes.
    let settling = false
    let stagger: NodeJS.Timeout | undefined
    let settleTimer: NodeJS.Timeout | undefined

    const finish = (host: HostSpec | null) => {
      done = true
      clearTimeout(stagger)
      clearTimeout(settleTimer)
      for (const timer of reprobes) clearTimeout(timer)
      resolve(host)
    }
    // Once every pending probe has had staggerMs to answer: the newest timeline, then hosts not
    // stuck, then candidate order.
    const settle = () => {
      const waitUntil = Math.max(...[...pending.values()].map((startedAt) => startedAt + options.staggerMs))
      const now = performance.now()
      if (pending.size > 0 && waitUntil > now) {
        clearTimeout(settleTimer)
        settleTimer = setTimeout(settle, waitUntil - now)
        return
      }
      const inOrder = [...qualified].sort((a, b) => candidates.indexOf(a.host) - candidates.indexOf(b.host))
      finish(preferNewestTimeline(inOrder)?.host ?? null)
    }
    // Once every host is launched and a dead or black-holed one is still pending (up to
    // connect_timeout), ask the hosts that do answer again, so that a standby promoted
    // meanwhile is found within reprobeMs rather than after the dead host's timeout.
    const scheduleReprobes = () => {
      if (done || settling || next < candidates.length || pending.size === 0 || options.reprobeMs <= 0) return
      for (const host of idle) {
        idle.delete(host)
        const timer = setTimeout(() => {
          reprobes.delete(timer)
          if (!done && !settling) start(host)
        }, options.reprobeMs)
        reprobes.add(timer)
      }
    }
    const start = (host: HostSpec) => {
      pending.set(host, performance.now())
      void probe(settings, host, options, clients).then((result) => {
        pending.delete(host)
        if (done) return
        if (result.qualifies) {
          if (!compare) return finish(result.host)
          qualified.push({ host, timeline: result.timeline ?? null, stuck: options.isStuck?.(host) ?? false })
          if (!settling) {
            settling = true
            clearTimeout(stagger)
            for (const timer of reprobes) clearTimeout(timer)
            while (next < candidates.length) start(candidates[next++] as HostSpec)
          }
          return settle()
        }
        if (result.attempt) attempts.set(host, result.attempt)
        if (settling) return settle()
        if (result.fallback) {
          anyPass.add(host)
          idle.add(host)
        }
        if (next < candidates.length) return launchNext()
        if (pending.size > 0) return scheduleReprobes()
        // prefer-standby's second pass: any host that answered will do.
        fallback = settings.targetSessionAttrs === 'prefer-standby' && anyPass.size > 0
        finish(fallback ? ([...anyPass][0] ?? null) : null)
      })
    }
    const launchNext = () => {
      if (done || settling || next >= candidates.length) return
      clearTimeout(stagger)
      stagger = setTimeout(launchNext, options.staggerMs)
      start(candidates[next++] as HostSpec)
      scheduleReprobes()
    }
    // Timelines are compared among every host that answers, so ask them all at once.
    if (compare) {
      while (next < candidates.length) start(candidates[next++] as HostSpec)
      scheduleReprobes()
    } else launchNext()
  })
  for (const client of clients) void client.end().catch(() => {})
  return { host: winner, fallback, attempts: [...attempts.values()] }
}

async function probe(
  settings: ConnectionSettings,
  host: HostSpec,
  { ssl, maxReplayLag }: DiscoverOptions,
  clients: Set<pg.Client>,
): Promise<ProbeResult> {
  const client = new pg.Client(clientConfigFor(settings, host, ssl))
  clients.add(client)
  const statuses: ServerStatuses = {}
  client.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
    statuses[msg.parameterName] = msg.parameterValue
  })
  // A probe's late socket error must never reach the process as an unhandled 'error'.
  client.on('error', () => {})
  try {
    await client.connect()
    const role = await sessionRole(client, statuses)
    if (role.inHotStandby && maxReplayLag) {
      const behind = lagExceeded(await measureReplayLag(client), maxReplayLag)
      if (behind)
        return { host, fallback: false, qualifies: false, attempt: { host: host.host, port: host.port, reason: 'lagging', detail: behind } }
    }
    const verdict = judgeRole(role, settings.targetSessionAttrs)
    if (verdict.ok) {
      const timeline = comparesTimelines(settings.targetSessionAttrs) ? await currentTimeline(client) : undefined
      return { host, fallback: true, qualifies: true, timeline }
    }
    return {
      host,
      fallback: true,
      qualifies: false,
      attempt: { host: host.host, port: host.port, reason: verdict.reason === 'standby' ? 'read-only' : verdict.reason },
    }
  } catch (error) {
    return { host, fallback: false, qualifies: false, attempt: { host: host.host, port: host.port, ...rejection(error) } }
  } finally {
    // Only a probe still pending when discovery ends is left to the caller to close.
    clients.delete(client)
    void client.end().catch(() => {})
  }
}

function rejection(error: unknown): { reason: HostRejectReason; detail?: string } {
  const err = error as { code?: string; message?: string }
  if (err.code === 'ECONNREFUSED') return { reason: 'refused' }
  if (err.code === '28P01' || err.code === '28000') return { reason: 'auth-failed', detail: err.message }
  if (err.code === 'ETIMEDOUT' || /timeout/i.test(err.message ?? '')) return { reason: 'timeout' }
  return { reason: 'error', detail: err.code ?? err.message }
}
