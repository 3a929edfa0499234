// A real pg.Pool (so @prisma/adapter-pg's `instanceof pg.Pool` holds) whose clients only ever
// connect to the host matching target_session_attrs. Steady state: new connections go straight
// to the remembered host and are checked from the startup statuses, at no extra round trip.
// After a failover-class error: the host is suspected, its idle connections are evicted, and the
// next connection rediscovers (concurrently, see discover-host.ts).
import pg from 'pg'
import { NoSuitableHostError, isFailoverError } from '../errors/index.js'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'
import { clientConfigFor, hostKey, sslOptions } from './client-config.js'
import { discoverHost } from './discover-host.js'
import { HostState } from './host-state.js'
import { judgeRole, sessionRole, type ServerStatuses } from './session-role.js'
import { RoleChangedError } from './role-changed-error.js'

export interface HaPoolTuning {
  /** Delay before probing the next host while the previous one has not answered (default 250 ms). */
  staggerMs?: number
  /** How long `connect()` keeps rediscovering on failover-class errors (default 10 s). */
  connectBudgetMs?: number
  /** How long after an error checkouts re-verify a pooled connection's role (default 10 s). */
  suspectWindowMs?: number
  /** Called for errors of idle connections (they never crash the process). */
  onIdleError?: (error: Error) => void
}

export type HaPoolConfig = Omit<pg.PoolConfig, 'host' | 'port' | 'user' | 'password' | 'database' | 'connectionString' | 'ssl' | 'Client'>

interface HaClientLike extends pg.Client {
  haHost?: HostSpec
  verifiedAt: number
}

export class HaPool extends pg.Pool {
  readonly settings: ConnectionSettings
  readonly state: HostState
  readonly #tuning: Required<Omit<HaPoolTuning, 'onIdleError'>>

  constructor(settings: ConnectionSettings, poolConfig: HaPoolConfig = {}, tuning: HaPoolTuning = {}) {
    const resolvedTuning = {
      staggerMs: tuning.staggerMs ?? 250,
      connectBudgetMs: tuning.connectBudgetMs ?? 10_000,
      suspectWindowMs: tuning.suspectWindowMs ?? 10_000,
    }
    const state = new HostState(resolvedTuning.suspectWindowMs)
    const ssl = sslOptions(settings)
    const maybeFirst = settings.hosts[0]
    if (!maybeFirst) throw new TypeError('db-ha: settings.hosts is empty')
    const first: HostSpec = maybeFirst
    let discovery: Promise<HostSpec> | null = null

    // Single flight: concurrent connects during a failover share one discovery.
    const discover = (): Promise<HostSpec> => {
      discovery ??= (async () => {
        const started = performance.now()
        try {
          const candidates = state.order(settings.loadBalanceHosts === 'random' ? shuffle(settings.hosts) : settings.hosts)
          const { host, attempts } = await discoverHost(settings, candidates, { staggerMs: resolvedTuning.staggerMs, ssl })
          if (!host) throw new NoSuitableHostError(settings.targetSessionAttrs, attempts)
          state.matched(host, performance.now() - started)
          return host
        } finally {
          discovery = null
        }
      })()
      return discovery
    }

    class HaClient extends pg.Client implements HaClientLike {
      haHost?: HostSpec
      verifiedAt = 0
      readonly #statuses: ServerStatuses = {}

      constructor(config: pg.ClientConfig) {
        super({ ...config, ...clientConfigFor(settings, state.current ?? first, ssl) })
        this.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
          this.#statuses[msg.parameterName] = msg.parameterValue
        })
      }

      // @ts-expect-error pg's overloads (callback | promise) are implemented by hand below.
      override connect(callback?: (err: Error | null) => void): Promise<void> | undefined {
        const connecting = this.#connectToMatchingHost()
        if (!callback) return connecting
        connecting.then(() => callback(null), (error: Error) => callback(error))
        return undefined
      }

      async #connectToMatchingHost() {
        const host = state.current ?? (await discover())
        this.haHost = host
        this.host = host.hostaddr ?? host.host
        this.port = host.port
        try {
          await super.connect()
        } catch (error) {
          state.suspect(host, (error as Error).message)
          throw error
        }
        const verdict = judgeRole(await sessionRole(this as unknown as pg.Client, this.#statuses), settings.targetSessionAttrs)
        if (!verdict.ok) {
          state.suspect(host, verdict.reason)
          await this.end().catch(() => {})
          throw new RoleChangedError(hostKey(host), verdict.reason, settings.targetSessionAttrs)
        }
        state.matched(host)
        state.opened(host)
        this.verifiedAt = Date.now()
        this.once('end', () => state.closed(host))
      }

      // Watches results for failover-class errors; the caller still gets the original result.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      override query(...args: any[]): any {
        const last = args.at(-1)
        if (typeof last === 'function') {
          args[args.length - 1] = (error: Error | null, ...rest: unknown[]) => {
            if (error) this.#observe(error)
            return last(error, ...rest)
          }
        }
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const result = (super.query as any)(...args)
        if (result && typeof result.then === 'function') result.then(undefined, (error: Error) => this.#observe(error))
        else if (result && typeof result.on === 'function' && typeof args[0]?.submit === 'function') result.on('error', (error: Error) => this.#observe(error))
        return result
      }

      #observe(error: Error) {
        if (!this.haHost || !isFailoverError(error)) return
        // pg leaves a timed-out query's connection open and busy: drop it so it is not reused.
        if (error.message === 'Query read timeout') this.connection.stream.destroy()
        state.suspect(this.haHost, error.message)
      }
    }

    super({ ...poolConfig, Client: HaClient as unknown as typeof pg.Client })
    this.settings = settings
    this.state = state
    this.#tuning = resolvedTuning
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
    const internals = this as unknown as { _idle: { client: HaClientLike }[]; _remove(client: pg.Client): void }
    for (const { client } of [...internals._idle]) {
      if (client.haHost && hostKey(client.haHost) === key) internals._remove(client)
    }
  }

  // @ts-expect-error pg-pool's overloads (callback | promise) are implemented by hand below.
  override connect(callback?: (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void): Promise<pg.PoolClient> | undefined {
    const connecting = this.#checkout()
    if (!callback) return connecting
    connecting.then((client) => callback(undefined, client, (release) => client.release(release as boolean)), (error: Error) => callback(error))
    return undefined
  }

  async #checkout(): Promise<pg.PoolClient> {
    const deadline = Date.now() + this.#tuning.connectBudgetMs
    for (let attempt = 0; ; attempt++) {
      try {
        const client = (await super.connect()) as unknown as pg.PoolClient & HaClientLike
        if (Date.now() < this.state.suspectedUntil && client.verifiedAt < this.state.suspectedUntil - this.#tuning.suspectWindowMs) {
          // A failover is suspected: check the role of a pooled connection before lending it.
          const verdict = judgeRole(await sessionRole(client, {}), this.settings.targetSessionAttrs)
          client.verifiedAt = Date.now()
          if (!verdict.ok) {
            if (client.haHost) this.state.suspect(client.haHost, verdict.reason)
            client.release(true)
            throw new RoleChangedError(client.haHost ? hostKey(client.haHost) : '?', verdict.reason, this.settings.targetSessionAttrs)
          }
        }
        return client
      } catch (error) {
        // Nothing was sent on a connection that failed to check out: retrying is always safe.
        if (!isFailoverError(error) || Date.now() >= deadline) throw error
        const delay = Math.min(1000, 25 * 2 ** attempt) * Math.random()
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  snapshot() {
    return this.state.snapshot()
  }
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
