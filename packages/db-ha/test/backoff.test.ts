// backoffDelay, the one backoff of db-ha: full jitter for withRetry (more in with-retry.test.ts),
// equal jitter for the pool's rediscovery on checkout.
import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../src/retry/backoff.js'

const RANDOMS = [0, 0.25, 0.5, 0.999999, 1, -1, 2]

describe('backoffDelay', () => {
  it('is full jitter unless told otherwise: [0, cap)', () => {
    for (const r of RANDOMS) {
      expect(backoffDelay(3, 50, 1000, () => r)).toBe(backoffDelay(3, 50, 1000, () => r, 'full'))
    }
    expect(backoffDelay(1, 50, 1000, () => 0)).toBe(0)
    expect(backoffDelay(1, 50, 1000, () => 1)).toBe(49)
  })

  it('with equal jitter stays in [cap/2, cap), cap = min(max, base * 2^(attempt-1))', () => {
    for (const r of RANDOMS) {
      for (let attempt = 1; attempt <= 10; attempt++) {
        const cap = Math.min(100, 25 * 2 ** (attempt - 1))
        const delay = backoffDelay(attempt, 25, 100, () => r, 'equal')
        expect(Number.isInteger(delay)).toBe(true)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(cap / 2))
        expect(delay).toBeLessThan(cap)
      }
    }
    expect([1, 2, 3, 4, 30].map((attempt) => backoffDelay(attempt, 25, 100, () => 0, 'equal'))).toEqual([12, 25, 50, 50, 50])
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, 25, 100, () => 0.999999, 'equal'))).toEqual([24, 49, 99, 99])
  })

  it('with equal jitter is the pool formula it replaced, to the millisecond setTimeout keeps', () => {
    // ha-pool.ts had, for its 0-based attempt: min(max, 25 * 2^attempt) * (0.5 + random / 2).
    const inline = (attempt0: number, max: number, r: number) => Math.min(max, 25 * 2 ** attempt0) * (0.5 + r / 2)
    for (const max of [100, 250, 1000]) {
      for (let attempt0 = 0; attempt0 < 8; attempt0++) {
        for (const r of [0, 0.1, 0.37, 0.5, 0.9, 0.999999]) {
          expect(backoffDelay(attempt0 + 1, 25, max, () => r, 'equal')).toBe(Math.trunc(inline(attempt0, max, r)))
        }
      }
    }
  })

  it('never exceeds the cap, however far the attempts go', () => {
    expect(backoffDelay(1_000, 50, 1000, () => 0.999999)).toBeLessThan(1000)
    expect(backoffDelay(1_000, 25, 100, () => 0.999999, 'equal')).toBeLessThan(100)
  })
})
