// The retry budget bounds the whole call, also when an attempt hangs (a connect or a statement to a
// black-holed primary can outlast it by many seconds): the caller hears back when the budget ends.
import { describe, expect, it } from 'vitest'
import { OutcomeUnknownError, RetryBudgetExhaustedError } from '../src/errors/index.js'
import { AttemptOutlastedBudgetError, withRetry } from '../src/retry/index.js'

const hangs = () => new Promise<never>(() => {})
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 10.0.0.11:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' })

describe('the retry budget', () => {
  it('ends an idempotent call whose attempt hangs, as budget exhausted', async () => {
    const error = await withRetry(hangs, { idempotent: true, budgetMs: 150 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError)
    expect((error as RetryBudgetExhaustedError).cause).toBeInstanceOf(AttemptOutlastedBudgetError)
  })

  it('ends a non-idempotent call whose attempt hangs as outcome unknown: it may still be applied', async () => {
    const error = await withRetry(hangs, { idempotent: false, budgetMs: 150 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OutcomeUnknownError)
    expect((error as OutcomeUnknownError).message).toContain('attempt still running when the retry budget of 150 ms ran out')
  })

  it('counts the earlier attempts: a hang after failed ones ends at the same budget', async () => {
    let attempts = 0
    const started = performance.now()
    const error = await withRetry(
      async () => {
        attempts++
        if (attempts < 3) throw refused()
        return hangs()
      },
      { idempotent: true, budgetMs: 300, baseDelayMs: 1, maxDelayMs: 2 },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError)
    expect(attempts).toBe(3)
    // Loose on purpose (a loaded machine): what fails is a call that waits for the hang.
    expect(performance.now() - started).toBeLessThan(3000)
  })

  it('leaves a slow attempt that ends within the budget alone', async () => {
    const value = await withRetry(() => new Promise((resolve) => setTimeout(() => resolve('done'), 50)), {
      idempotent: false,
      budgetMs: 2000,
    })
    expect(value).toBe('done')
  })
})
