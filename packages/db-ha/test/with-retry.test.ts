import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import { NoSuitableHostError, OutcomeUnknownError, RetryBudgetExhaustedError } from '../src/errors/index.js'
import { backoffDelay, withRetry, type RetryInfo, type RetryOptions } from '../src/retry/index.js'

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 10.0.0.11:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' })
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' })
const terminated = () => new Error('Connection terminated unexpectedly')
function pgError(code: string, message: string) {
  const error = new pg.DatabaseError(message, 100, 'error')
  error.code = code
  error.severity = 'ERROR'
  return error
}
const prismaP1017 = () =>
  Object.assign(new Error('Server has closed the connection.'), {
    name: 'PrismaClientKnownRequestError',
    code: 'P1017',
    clientVersion: '7.10.0',
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'ConnectionClosed' } } },
  })

/** A virtual clock: sleeping advances it, so budgets are tested without waiting. */
function fakeTime() {
  let t = 0
  const sleeps: number[] = []
  return {
    sleeps,
    advance: (ms: number) => {
      t += ms
    },
    options: {
      now: () => t,
      sleep: async (ms: number) => {
        sleeps.push(ms)
        t += ms
      },
      random: () => 0.5,
    } satisfies Partial<RetryOptions>,
  }
}

/** fn failing with the given errors, then resolving 'ok'. */
function failing(...errors: unknown[]) {
  return vi.fn(async (attempt: number) => {
    const error = errors[attempt - 1]
    if (error !== undefined) throw error
    return 'ok'
  })
}

describe('withRetry', () => {
  it('returns the first result without retrying', async () => {
    const fn = failing()
    await expect(withRetry(fn, { idempotent: false })).resolves.toBe('ok')
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('retries failover errors of an idempotent call, numbering attempts from 1', async () => {
    const time = fakeTime()
    const infos: RetryInfo[] = []
    const fn = failing(reset(), terminated(), pgError('57P01', 'terminating connection'))
    await expect(withRetry(fn, { idempotent: true, ...time.options, onRetry: (info) => infos.push(info) })).resolves.toBe('ok')
    expect(fn.mock.calls.map(([attempt]) => attempt)).toEqual([1, 2, 3, 4])
    expect(infos.map((i) => [i.attempt, i.delayMs, i.classification.sent])).toEqual([
      [1, 25, 'unknown'],
      [2, 50, 'unknown'],
      [3, 100, 'unknown'],
    ])
    expect(time.sleeps).toEqual([25, 50, 100])
  })

  it.each([
    ['23505 duplicate key', pgError('23505', 'duplicate key value')],
    ['40001 serialization failure (the caller decides)', pgError('40001', 'could not serialize access')],
    ['42601 syntax error', pgError('42601', 'syntax error')],
    ['a plain Error', new Error('boom')],
  ])('rethrows %s unchanged, without retrying', async (_label, error) => {
    const fn = failing(error)
    await expect(withRetry(fn, { idempotent: true, ...fakeTime().options })).rejects.toBe(error)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  describe('a non-idempotent call', () => {
    it.each([
      ['ECONNRESET mid-query', reset()],
      ['"Connection terminated unexpectedly"', terminated()],
      ['57P01 during a statement', pgError('57P01', 'terminating connection due to administrator command')],
      ['Prisma P1017', prismaP1017()],
    ])('is never retried when the outcome is unknown: %s', async (_label, error) => {
      const onRetry = vi.fn()
      const fn = failing(error)
      const rejection = await withRetry(fn, { idempotent: false, onRetry, ...fakeTime().options }).catch((e: unknown) => e)
      expect(fn).toHaveBeenCalledTimes(1)
      expect(onRetry).not.toHaveBeenCalled()
      expect(rejection).toBeInstanceOf(OutcomeUnknownError)
      expect(rejection).toMatchObject({ code: 'DB_HA_OUTCOME_UNKNOWN', attempts: 1, classification: { kind: 'failover', sent: 'unknown' } })
      expect((rejection as OutcomeUnknownError).cause).toBe(error)
    })

    it('reports the attempt whose outcome is unknown after earlier safe retries', async () => {
      const fn = failing(refused(), reset())
      const rejection = await withRetry(fn, { idempotent: false, ...fakeTime().options }).catch((e: unknown) => e)
      expect(fn).toHaveBeenCalledTimes(2)
      expect(rejection).toMatchObject({ code: 'DB_HA_OUTCOME_UNKNOWN', attempts: 2 })
    })

    it.each([
      ['connection refused', refused()],
      ['25006 read-only transaction (demoted primary)', pgError('25006', 'cannot execute INSERT in a read-only transaction')],
      ['57P03 server starting up', pgError('57P03', 'the database system is starting up')],
      ['no suitable host', new NoSuitableHostError('read-write', [{ host: '10.0.0.11', port: 5432, reason: 'read-only' }])],
      ['pg-pool connect timeout', new Error('Connection terminated due to connection timeout', { cause: terminated() })],
    ])('is retried when the statement provably was not applied: %s', async (_label, error) => {
      const fn = failing(error)
      await expect(withRetry(fn, { idempotent: false, ...fakeTime().options })).resolves.toBe('ok')
      expect(fn).toHaveBeenCalledTimes(2)
    })
  })

  it.each([false, true])('passes on a commit the pool reported as not replicated, unretried (idempotent: %s)', async (idempotent) => {
    const notice = {
      code: '01000',
      routine: 'SyncRepWaitForLSN',
      message: 'canceling wait for synchronous replication due to user request',
    }
    const error = new OutcomeUnknownError(
      notice,
      1,
      { kind: 'other', sent: 'unknown', reason: notice.message },
      'commit-not-replicated',
      '10.0.0.11:5432',
    )
    const fn = failing(refused(), error)
    await expect(withRetry(fn, { idempotent, ...fakeTime().options })).rejects.toBe(error)
    expect(fn).toHaveBeenCalledTimes(2)
  })

  it('does not retry an inner withRetry verdict again', async () => {
    const inner = () => withRetry(failing(reset()), { idempotent: false, ...fakeTime().options })
    const outer = vi.fn(inner)
    await expect(withRetry(outer, { idempotent: true, ...fakeTime().options })).rejects.toBeInstanceOf(OutcomeUnknownError)
    expect(outer).toHaveBeenCalledTimes(1)
  })

  describe('budget', () => {
    it('gives up before a retry would start past the budget, with the last error and the attempt count', async () => {
      const time = fakeTime()
      const errors = Array.from({ length: 20 }, refused)
      const fn = failing(...errors)
      // random 0.5: delays 25, 50, 100, 200, 400 (sum 775); the next, 500, would end at 1275 > 1000.
      const rejection = await withRetry(fn, { idempotent: true, budgetMs: 1000, ...time.options }).catch((e: unknown) => e)
      expect(rejection).toBeInstanceOf(RetryBudgetExhaustedError)
      expect(rejection).toMatchObject({ code: 'DB_HA_RETRY_BUDGET_EXHAUSTED', attempts: 6, elapsedMs: 775 })
      expect((rejection as RetryBudgetExhaustedError).cause).toBe(errors[5])
      expect(fn).toHaveBeenCalledTimes(6)
      expect(time.sleeps).toEqual([25, 50, 100, 200, 400])
    })

    it('counts the time spent inside fn', async () => {
      const time = fakeTime()
      const fn = vi.fn(async () => {
        time.advance(400)
        throw refused()
      })
      const rejection = await withRetry(fn, { idempotent: true, budgetMs: 1000, ...time.options }).catch((e: unknown) => e)
      // Attempts start at 0, 425 and 875 ms; after the third (ends at 1275) no new one may start.
      expect(rejection).toMatchObject({ code: 'DB_HA_RETRY_BUDGET_EXHAUSTED', attempts: 3, elapsedMs: 1275 })
    })

    it('defaults to 10 s', async () => {
      const time = fakeTime()
      const fn = failing(...Array.from({ length: 100 }, refused))
      const rejection = await withRetry(fn, { idempotent: true, ...time.options }).catch((e: unknown) => e)
      expect(rejection).toMatchObject({ code: 'DB_HA_RETRY_BUDGET_EXHAUSTED' })
      const slept = time.sleeps.reduce((a, b) => a + b, 0)
      expect(slept).toBeLessThan(10_000)
      expect(slept + 500).toBeGreaterThanOrEqual(10_000)
    })
  })

  describe('jitter', () => {
    it('stays in [0, min(max, base * 2^(attempt-1))) for any random value', () => {
      for (const r of [0, 0.25, 0.5, 0.999999, 1]) {
        for (let attempt = 1; attempt <= 12; attempt++) {
          const cap = Math.min(1000, 50 * 2 ** (attempt - 1))
          const delay = backoffDelay(attempt, 50, 1000, () => r)
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThan(cap)
        }
      }
      expect(backoffDelay(3, 50, 1000, () => 0.999999)).toBe(199)
      expect(backoffDelay(30, 50, 1000, () => 0.5)).toBe(500)
    })

    it('spreads delays over the whole window with Math.random', () => {
      const delays = Array.from({ length: 2000 }, () => backoffDelay(4, 50, 1000, Math.random))
      expect(Math.min(...delays)).toBeLessThan(40)
      expect(Math.max(...delays)).toBeGreaterThan(360)
      expect(Math.max(...delays)).toBeLessThan(400)
    })

    it('uses the given base and cap', async () => {
      const time = fakeTime()
      const fn = failing(refused(), refused(), refused(), refused())
      await withRetry(fn, { idempotent: true, baseDelayMs: 100, maxDelayMs: 300, ...time.options, random: () => 0.999 })
      expect(time.sleeps).toEqual([99, 199, 299, 299])
    })
  })

  describe('abort', () => {
    it('does not call fn when already aborted', async () => {
      const fn = failing()
      const controller = new AbortController()
      controller.abort(new Error('shutting down'))
      await expect(withRetry(fn, { idempotent: true, signal: controller.signal })).rejects.toThrow('shutting down')
      expect(fn).not.toHaveBeenCalled()
    })

    it('interrupts a backoff with signal.reason and stops retrying', async () => {
      const controller = new AbortController()
      const fn = failing(refused(), refused())
      const sleep = () => new Promise<void>(() => {}) // never ends on its own
      const running = withRetry(fn, { idempotent: true, signal: controller.signal, sleep, random: () => 0.5 })
      await vi.waitFor(() => expect(fn).toHaveBeenCalledTimes(1))
      const reason = new Error('request cancelled')
      controller.abort(reason)
      await expect(running).rejects.toBe(reason)
      expect(fn).toHaveBeenCalledTimes(1)
    })

    it('does not retry when aborted while fn was running', async () => {
      const controller = new AbortController()
      const fn = vi.fn(async () => {
        controller.abort()
        throw refused()
      })
      const rejection = await withRetry(fn, { idempotent: true, signal: controller.signal }).catch((e: unknown) => e)
      expect((rejection as Error).name).toBe('AbortError')
      expect(fn).toHaveBeenCalledTimes(1)
    })

    it('keeps a result that arrived after the abort', async () => {
      const controller = new AbortController()
      const fn = vi.fn(async () => {
        controller.abort()
        return 'done'
      })
      await expect(withRetry(fn, { idempotent: false, signal: controller.signal })).resolves.toBe('done')
    })
  })

  it('really sleeps with the default timer', async () => {
    const fn = failing(refused())
    const started = performance.now()
    await expect(withRetry(fn, { idempotent: true, baseDelayMs: 40, random: () => 0.99 })).resolves.toBe('ok')
    expect(performance.now() - started).toBeGreaterThanOrEqual(35)
  })
})
