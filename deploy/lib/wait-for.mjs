import { errorMessage } from './error-message.mjs'
import { KitError } from './errors.mjs'

/**
 * Polls `check` until it returns a truthy value or `timeoutMs` passes; an aborted `signal` ends
 * the wait at the next poll (an error whose message starts with "interrupted").
 * @template T
 * @param {() => Promise<T>} check
 * @param {{timeoutMs: number, intervalMs?: number, what: string, lastSeen?: () => string, signal?: AbortSignal}} options
 * @returns {Promise<NonNullable<T>>}
 */
export async function waitFor(check, { timeoutMs, intervalMs = 500, what, lastSeen, signal }) {
  const deadline = Date.now() + timeoutMs
  /** @type {unknown} */
  let lastError
  for (;;) {
    if (signal?.aborted) throw new KitError(`interrupted while waiting for ${what}`, { code: 'ABORTED' })
    try {
      const value = await check()
      if (value) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline) {
      const seen = lastSeen?.() ?? (lastError === undefined ? undefined : errorMessage(lastError))
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${seen ? ` (last seen: ${seen})` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
