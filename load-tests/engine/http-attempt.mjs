// One HTTP request of the drill through undici, judged the way the scenario says. An error
// without an answer (refused, reset, timed out) is status 0 with the error's code.
import { Agent, request } from 'undici'

/** A dispatcher for one run: enough connections for every request in flight, no keep-alive surprises. */
export function createDispatcher(/** @type {number} */ connections) {
  return new Agent({ connections, keepAliveTimeout: 4_000, connect: { timeout: 5_000 } })
}

/**
 * @typedef {object} Answer
 * @property {number} status 0: no answer
 * @property {string | null} error the error's code without an answer, or the problem's `code`
 * @property {string | null} orderId the `id` of a 2xx JSON answer
 */

/**
 * @param {import('undici').Dispatcher} dispatcher
 * @param {{url: string, method?: 'GET' | 'POST', headers?: Record<string, string>, body?: string, timeoutMs: number, signal?: AbortSignal}} options
 * @returns {Promise<Answer>}
 */
export async function sendRequest(dispatcher, { url, method = 'GET', headers, body, timeoutMs, signal }) {
  const timeout = AbortSignal.timeout(timeoutMs)
  try {
    const res = await request(url, { dispatcher, method, headers, body, signal: signal ? AbortSignal.any([timeout, signal]) : timeout })
    const text = await res.body.text()
    const json = parseJson(text)
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { status: res.statusCode, error: null, orderId: typeof json?.id === 'string' ? json.id : null }
    }
    return { status: res.statusCode, error: typeof json?.code === 'string' ? json.code : null, orderId: null }
  } catch (error) {
    const err = /** @type {{code?: string, name?: string}} */ (error)
    const code = timeout.aborted ? 'TIMEOUT' : signal?.aborted ? 'ABORTED' : (err.code ?? err.name ?? 'ERROR')
    return { status: 0, error: code, orderId: null }
  }
}

/** @param {string} text @returns {any} */
function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
