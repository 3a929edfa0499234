// The client class HaPool gives pg-pool: a pg.Client that connects only to a host matching
// target_session_attrs (the remembered one, else whichever discovery finds), checked from its
// startup statuses at no extra round trip; that reports failover-class errors to the pool's
// HostState; and that fails a statement whose commit the server acknowledged only locally.
import pg from 'pg'
import { isFailoverError } from '../errors/classify-error.js'
import { RoleChangedError } from '../errors/role-changed-error.js'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'
import { clientConfigFor, hostKey } from './client-config.js'
import { commitNotReplicatedError, isSyncRepCancelled, type ServerNotice } from './commit-not-replicated.js'
import type { HostState } from './host-state.js'
import { lagExceeded, measureReplayLag, type ReplayLagLimit } from './replay-lag.js'
import { judgeRole, sessionRole, type ServerStatuses } from './session-role.js'

export interface Discovered {
  host: HostSpec
  /** Found by prefer-standby's second pass: any role will do for it. */
  fallback: boolean
}

/** What a client shares with its pool. */
export interface HaClientContext {
  settings: ConnectionSettings
  state: HostState
  ssl: pg.ClientConfig['ssl']
  /** Where a client points before connect() picks its host (the first of the list). */
  firstHost: HostSpec
  /** Finds a matching host when none is remembered (shared by the pool's concurrent connects). */
  discover: () => Promise<Discovered>
  maxReplayLag?: ReplayLagLimit
}

/** What the pool reads of its clients. */
export interface HaClientLike extends pg.Client {
  haHost?: HostSpec
  verifiedAt: number
  /** Connected by prefer-standby's second pass: any role will do for it. */
  fallback: boolean
  /** Set on connections to a standby when a lag limit applies. */
  lagCheckedAt?: number
  /** The last ReadyForQuery's: I idle, T in a transaction, E in a failed one ('?' before the first). */
  transactionStatus: string
}

/** The client class for a pool: pg-pool builds its clients as `new Client(poolOptions)`. */
export function haClientClass(context: HaClientContext): typeof pg.Client {
  return class extends HaClient {
    constructor(config: pg.ClientConfig) {
      super(config, context)
    }
  } as unknown as typeof pg.Client
}

export class HaClient extends pg.Client implements HaClientLike {
  haHost?: HostSpec
  verifiedAt = 0
  fallback = false
  lagCheckedAt?: number
  transactionStatus = '?'
  readonly #context: HaClientContext
  readonly #statuses: ServerStatuses = {}
  // A sync-rep cancel notice of the statement running now, then of the one just completed.
  #unreplicated?: ServerNotice
  #unreplicatedDone?: ServerNotice

  constructor(config: pg.ClientConfig, context: HaClientContext) {
    const { settings, state, ssl, firstHost } = context
    super({ ...config, ...clientConfigFor(settings, state.current ?? firstHost, ssl) })
    this.#context = context
    this.connection.on('parameterStatus', (msg: { parameterName: string; parameterValue: string }) => {
      this.#statuses[msg.parameterName] = msg.parameterValue
    })
    this.connection.on('notice', (notice: ServerNotice) => {
      if (!isSyncRepCancelled(notice)) return
      this.#unreplicated = notice
      // Its commits cannot reach a standby: another host on the same timeline is preferred.
      if (this.haHost) state.suspect(this.haHost, notice.message ?? 'commit not replicated', { stuck: true })
    })
    // The notice arrives before its statement's ReadyForQuery, which completes the statement
    // (pg calls its callback from its own readyForQuery listener, which runs after this one).
    // Moving it here binds it to that statement, and to no later one.
    this.connection.prependListener('readyForQuery', (msg: { status?: string }) => {
      this.#unreplicatedDone = this.#unreplicated
      this.#unreplicated = undefined
      this.transactionStatus = msg.status ?? '?'
    })
    // pg-pool listens for errors only while a connection is idle. One the application holds
    // between statements (a transaction, Prisma's included) whose server ends it (a
    // switchover restarting the old primary, a crash) would emit 'error' with no listener,
    // which ends the process. Observed here instead; pg fails the connection's next
    // statement, and that failover-class error is what the caller's retry acts on.
    this.on('error', (error: Error) => this.#observe(error))
  }

  // @ts-expect-error pg's overloads (callback | promise) are implemented by hand below.
  override connect(callback?: (err: Error | null) => void): Promise<void> | undefined {
    const connecting = this.#connectToMatchingHost()
    if (!callback) return connecting
    connecting.then(
      () => callback(null),
      (error: Error) => callback(error),
    )
    return undefined
  }

  async #connectToMatchingHost() {
    const { settings, state, discover, maxReplayLag } = this.#context
    const { host, fallback } = state.current ? { host: state.current, fallback: false } : await discover()
    this.haHost = host
    this.fallback = fallback
    this.host = host.hostaddr ?? host.host
    this.port = host.port
    try {
      await super.connect()
    } catch (error) {
      state.suspect(host, (error as Error).message)
      throw error
    }
    const role = await sessionRole(this as unknown as pg.Client, this.#statuses)
    const verdict = judgeRole(role, fallback ? 'any' : settings.targetSessionAttrs)
    const behind =
      verdict.ok && role.inHotStandby && maxReplayLag
        ? lagExceeded(await measureReplayLag(this as unknown as pg.Client), maxReplayLag)
        : null
    if (!verdict.ok || behind) {
      const reason = verdict.ok ? `lagging: ${behind}` : verdict.reason
      state.suspect(host, reason)
      await this.end().catch(() => {})
      throw new RoleChangedError(hostKey(host), reason, settings.targetSessionAttrs)
    }
    if (role.inHotStandby && maxReplayLag) this.lagCheckedAt = Date.now()
    if (!fallback) state.matched(host)
    state.opened(host)
    this.verifiedAt = Date.now()
    this.once('end', () => state.closed(host))
  }

  // Every form of pg's query() goes through a callback of ours (pg.Pool.query and
  // @prisma/adapter-pg included), which watches for failover-class errors and fails a statement
  // whose commit was not replicated. Submittables (cursors, streams) report through their own
  // events: their errors are watched, their results left alone.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const query = super.query as (...a: any[]) => any
    const [config, values, callback] = args
    if (typeof callback === 'function') return query.call(this, config, values, this.#settle(callback))
    if (typeof values === 'function') return query.call(this, config, this.#settle(values))
    if (typeof config?.submit === 'function') {
      const result = query.apply(this, args)
      result?.on?.('error', (error: Error) => this.#observe(error))
      return result
    }
    if (typeof config?.callback === 'function') return query.call(this, config, values, this.#settle(config.callback))
    let settle!: Callback
    const promise = new Promise((resolve, reject) => {
      settle = (error, result) => (error ? reject(error) : resolve(result))
    }).catch((error: unknown) => {
      // As pg does: a stack leading back to the caller rather than to the socket.
      if (error instanceof Error) Error.captureStackTrace(error)
      throw error
    })
    // Synchronous throws (a null query) stay synchronous, as in pg.
    query.call(this, config, values, this.#settle(settle))
    return promise
  }

  #settle(callback: Callback): Callback {
    return (error, result) => {
      const unreplicated = this.#unreplicatedDone
      this.#unreplicatedDone = undefined
      if (error) {
        this.#observe(error)
        return callback(error, result)
      }
      // pg calls back on success from within ReadyForQuery's handling, right after the
      // listener above: a notice here was sent while this statement ran.
      if (unreplicated)
        return callback(commitNotReplicatedError(unreplicated, this.haHost ? hostKey(this.haHost) : `${this.host}:${this.port}`))
      return callback(null, result)
    }
  }

  #observe(error: Error) {
    if (!this.haHost || !isFailoverError(error)) return
    // pg leaves a timed-out query's connection open and busy: drop it so it is not reused.
    const timedOut = error.message === 'Query read timeout'
    if (timedOut) this.connection.stream.destroy()
    this.#context.state.suspect(this.haHost, error.message, { stuck: timedOut })
  }
}

type Callback = (error: Error | null, result?: unknown) => unknown
