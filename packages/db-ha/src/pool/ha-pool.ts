// A real pg.Pool (so @prisma/adapter-pg's `instanceof pg.Pool` holds) whose clients only ever
// connect to the host matching target_session_attrs. Steady state: new connections go straight
// to the remembered host and are checked from the startup statuses, at no extra round trip.
// After a failover-class error: the host is suspected, its idle connections are evicted, and the
// next connection rediscovers (concurrently, see discover-host.ts); for read-write and primary,
// pooled connections to any other host than the one rediscovered are then dropped on checkout.
// A commit the server acknowledged only locally is turned into an error (commit-not-replicated.ts).
import pg from 'pg'
import { isFailoverError } from '../errors/classify-error.js'
import { NoSuitableHostError } from '../errors/no-suitable-host-error.js'
import { RoleChangedError } from '../errors/role-changed-error.js'
import { backoffDelay } from '../retry/backoff.js'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'
import { hostKey, sslOptions } from './client-config.js'
import { discoverHost } from './discover-host.js'
import { haClientClass, type Discovered, type HaClientLike } from './ha-client.js'
import { candidateHosts } from './host-order.js'
import { HostState } from './host-state.js'
import { comparesTimelines } from './newest-timeline.js'
import { pgPoolInternals, type PgPoolInternals } from './pg-pool-internals.js'
import { lagExceeded, measureReplayLag, type ReplayLagLimit } from './replay-lag.js'
import { judgeRole, sessionRole } from './session-role.js'

// Checkouts retry rediscovery after 25, 50, 100 ms... (capped by rediscoverMaxDelayMs), with
// equal jitter: mid-failover, the new primary should be found within ~100 ms of promotion.
const REDISCOVER_BASE_DELAY_MS = 25

export interface HaPoolTuning {
  /**
   * Delay before probing the next host while the previous one has not answered (default 250 ms).
   * For read-write and primary every host is probed at once, and this is how long a probe may
   * still take once another host qualified.
   */
  staggerMs?: number
  /** While a dead host's probe is pending, how often the answering hosts are asked again (default 100 ms). */
  reprobeMs?: number
  /** Longest pause between rediscoveries while no host qualifies, e.g. mid-failover (default 100 ms). */
  rediscoverMaxDelayMs?: number
  /** How long `connect()` keeps rediscovering on failover-class errors (default 10 s). */
  connectBudgetMs?: number
  /** How long after an error checkouts re-verify a pooled connection's role (default 10 s). */
  suspectWindowMs?: number
  /** Called for errors of idle connections (they never crash the process). */
  onIdleError?: (error: Error) => void
  /** Read pools: skip standbys further behind than this (checked on connect and on checkout). */
  maxReplayLag?: ReplayLagLimit
  /** How often a pooled standby connection's lag is re-checked on checkout (default 1000 ms). */
  lagCheckIntervalMs?: number
}

export type HaPoolConfig = Omit<pg.PoolConfig, 'host' | 'port' | 'user' | 'password' | 'database' | 'connectionString' | 'ssl' | 'Client'>

export class HaPool extends pg.Pool {
  readonly settings: ConnectionSettings
  readonly state: HostState
  readonly #tuning: Required<Omit<HaPoolTuning, 'onIdleError' | 'maxReplayLag'>> & Pick<HaPoolTuning, 'maxReplayLag'>
  readonly #discover: () => Promise<Discovered>
  readonly #internals: PgPoolInternals<HaClientLike>

  constructor(settings: ConnectionSettings, poolConfig: HaPoolConfig = {}, tuning: HaPoolTuning = {}) {
    const resolvedTuning = {
      staggerMs: tuning.staggerMs ?? 250,
      reprobeMs: tuning.reprobeMs ?? 100,
      rediscoverMaxDelayMs: tuning.rediscoverMaxDelayMs ?? 100,
      connectBudgetMs: tuning.connectBudgetMs ?? 10_000,
      suspectWindowMs: tuning.suspectWindowMs ?? 10_000,
      lagCheckIntervalMs: tuning.lagCheckIntervalMs ?? 1000,
      maxReplayLag: tuning.maxReplayLag,
    }
    // load_balance_hosts=random: every new connection picks its host anew, none is remembered.
    const balanced = settings.loadBalanceHosts === 'random'
    const state = new HostState(resolvedTuning.suspectWindowMs, { remember: !balanced })
    const ssl = sslOptions(settings)
    const firstHost = settings.hosts[0]
    if (!firstHost) throw new TypeError('db-ha: settings.hosts is empty')
    let discovery: Promise<Discovered> | null = null

    const discoverOnce = async (): Promise<Discovered> => {
      const started = performance.now()
      const candidates = candidateHosts(settings.hosts, state, settings.loadBalanceHosts)
      const { staggerMs, reprobeMs, maxReplayLag } = resolvedTuning
      const isStuck = (host: HostSpec) => state.isStuck(host)
      const { host, fallback, attempts } = await discoverHost(settings, candidates, { staggerMs, reprobeMs, ssl, maxReplayLag, isStuck })
      if (!host) throw new NoSuitableHostError(settings.targetSessionAttrs, attempts)
      // A fallback host is used, not remembered: the next connection looks for a standby again.
      if (!fallback) state.matched(host, performance.now() - started)
      return { host, fallback }
    }
    // Single flight: concurrent connects during a failover share one discovery (unless each
    // connection is to pick its own host).
    const discover = (): Promise<Discovered> => {
      if (balanced) return discoverOnce()
      discovery ??= discoverOnce().finally(() => {
        discovery = null
      })
      return discovery
    }

    const { maxReplayLag } = resolvedTuning
    super({ ...poolConfig, Client: haClientClass({ settings, state, ssl, firstHost, discover, maxReplayLag }) })
    // Before anything relies on them: a pool built is one that can evict a suspect's connections.
    this.#internals = pgPoolInternals<HaClientLike>(this)
    this.settings = settings
    this.state = state
    this.#tuning = resolvedTuning
    this.#discover = discover
    state.on('host-suspect', ({ host }) => this.#evictIdle(host))
    // pg.Pool re-emits errors of idle clients; with no listener they would crash the process.
    this.on('error', (error, client) => {
      const host = (client as unknown as HaClientLike | undefined)?.haHost
      if (host && isFailoverError(error)) this.suspectHost(host, error.message)
      tuning.onIdleError?.(error)
    })
  }

  /** Marks a host suspect; its idle connections are evicted and the next checkout rediscovers. */
  suspectHost(host: HostSpec, reason: string) {
    this.state.suspect(host, reason)
  }

  #evictIdle(key: string) {
    // pg-pool keeps idle clients in `_idle`; `_remove` ends one and forgets it.
    for (const { client } of [...this.#internals._idle]) {
      if (client.haHost && hostKey(client.haHost) === key) this.#internals._remove(client)
    }
  }

  // pg-pool's two forms (promise | callback), with the same signatures so HaPool stays a pg.Pool.
  override connect(): Promise<pg.PoolClient>
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    const connecting = this.#checkout()
    if (!callback) return connecting
    connecting.then(
      (client) => callback(undefined, client, (release) => client.release(release as boolean)),
      (error: Error) => callback(error, undefined, () => {}),
    )
  }

  async #checkout(): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.#tuning.connectBudgetMs
    for (let attempt = 1; ; attempt++) {
      try {
        const client = (await super.connect()) as unknown as pg.PoolClient & HaClientLike
        try {
          await this.#vet(client)
        } catch (error) {
          // Not lent: it no longer qualifies, or broke while being checked.
          client.release(true)
          throw error
        }
        keepAfterStatementErrors(client)
        return client
      } catch (error) {
        // Nothing was sent on a connection that failed to check out: retrying is always safe.
        if (!isFailoverError(error) || Date.now() >= deadline) throw error
        const delay = backoffDelay(attempt, REDISCOVER_BASE_DELAY_MS, this.#tuning.rediscoverMaxDelayMs, Math.random, 'equal')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  // Checks a pooled connection before it is lent; throws RoleChangedError when it no longer qualifies.
  async #vet(client: pg.PoolClient & HaClientLike) {
    const target = this.settings.targetSessionAttrs
    const suspected = Date.now() < this.state.suspectedUntil && client.verifiedAt < this.state.suspectedUntil - this.#tuning.suspectWindowMs
    if (suspected) {
      // A failover is suspected: check the role of a pooled connection before lending it.
      const verdict = judgeRole(await sessionRole(client, {}), client.fallback ? 'any' : target)
      client.verifiedAt = Date.now()
      if (!verdict.ok) this.#reject(client, verdict.reason)
    }
    // Read-write and primary have one right host. Once a rediscovery chose one, connections to
    // another (an old primary still read-write, on an older timeline) are dropped, not lent; while
    // a failover is suspected and none was chosen yet, rediscover first (shared with new connections).
    if (comparesTimelines(target) && this.state.remembers && !client.fallback && client.haHost) {
      const current = this.state.current ?? (suspected ? (await this.#discover()).host : null)
      if (current && hostKey(current) !== hostKey(client.haHost)) this.#reject(client, `superseded by ${hostKey(current)}`)
    }
    const { maxReplayLag, lagCheckIntervalMs } = this.#tuning
    if (maxReplayLag && client.lagCheckedAt !== undefined && Date.now() - client.lagCheckedAt >= lagCheckIntervalMs) {
      const behind = lagExceeded(await measureReplayLag(client), maxReplayLag)
      client.lagCheckedAt = Date.now()
      if (behind) this.#reject(client, `lagging: ${behind}`)
    }
  }

  // A pooled connection no longer qualifies: suspect its host and make the caller's loop try another.
  #reject(client: pg.PoolClient & HaClientLike, reason: string): never {
    if (client.haHost) this.state.suspect(client.haHost, reason)
    throw new RoleChangedError(client.haHost ? hostKey(client.haHost) : '?', reason, this.settings.targetSessionAttrs)
  }

  snapshot() {
    return this.state.snapshot()
  }
}

/**
 * pg-pool ends a connection released with any error, and pool.query (so @prisma/adapter-pg)
 * releases with the statement's error: every unique violation of an idempotent replay, every
 * check violation, cost a new connection and its SCRAM handshake. Under a failover's replay storm
 * that churn cut the reference API's throughput below its load (it never caught up). A statement
 * the server rejected on a healthy connection outside any transaction leaves it reusable; anything
 * else (a failover-class error, a timeout, an open or failed transaction, `release(true)`) still ends it.
 */
function keepAfterStatementErrors(client: pg.PoolClient & HaClientLike) {
  const release = client.release
  client.release = (err?: Error | boolean) => release.call(client, err instanceof Error && reusableAfter(err, client) ? undefined : err)
}

function reusableAfter(err: Error, client: HaClientLike): boolean {
  const { severity, code } = err as { severity?: unknown; code?: unknown }
  return (
    severity === 'ERROR' &&
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    !isFailoverError(err) &&
    client.transactionStatus === 'I'
  )
}
