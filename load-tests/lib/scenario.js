// The failover drill's scenario, shared by the k6 script (../failover.js) and the Node engine
// (../engine/): the run's settings, what a logical write is, how an answer is judged, how a failed
// write is retried, and the limits a run must keep. Plain JavaScript with no imports, so k6's
// runtime and Node load the same file: what CI executes is the logic users run under k6.

/** Where each logical write's id is stored: `orders.note`, a column with no unique index, so a write stored twice shows as two rows. */
export const NOTE_PREFIX = 'drill:'

/** @typedef {'before' | 'during' | 'after' | 'steady'} Phase */

/**
 * @typedef {object} Settings
 * @property {string} baseUrl the API's base URL (BASE_URL)
 * @property {number} rate logical writes started per second (RATE)
 * @property {number} readRate reads started per second (READ_RATE; 0: none)
 * @property {number} durationS how long writes are started, in seconds (DURATION)
 * @property {number} requestTimeoutMs one HTTP request's timeout (REQUEST_TIMEOUT_MS)
 * @property {number} retryBudgetMs how long one logical write is retried with its key before it counts as failed (RETRY_BUDGET_MS)
 * @property {number} maxInFlight logical writes in flight at most; a write that cannot start then is dropped, and counted (MAX_IN_FLIGHT)
 * @property {string} runId tells this run's writes from every other run's (RUN_ID)
 * @property {number | null} faultAtS seconds into the run the fault is injected, for phase tags (FAULT_AT)
 * @property {number | null} healAtS seconds into the run the fault is healed (HEAL_AT)
 */

export const DEFAULTS = Object.freeze({
  baseUrl: 'http://127.0.0.1:3000',
  rate: 50,
  readRate: 10,
  durationS: 60,
  // Above the API's own retry budget (DB_RETRY_BUDGET_MS: 34 s fast, 68 s default profile), so
  // that it answers first: a client that gives up sooner and retries while the service still works
  // on the first request doubles the load exactly when the service is slowest.
  requestTimeoutMs: 75_000,
  // Above the API's own retry budget (DB_RETRY_BUDGET_MS, 68 s with the default profile): a write
  // is given up only after the service itself would have.
  retryBudgetMs: 120_000,
  maxInFlight: 400,
})

/** What a run must keep, judged the same way by k6's thresholds and the Node engine. */
export const LIMITS = Object.freeze({
  /** Logical writes acknowledged within their retry budget, out of those started. */
  minWriteSuccessRate: 0.999,
})

export class SettingsError extends Error {
  /** @param {string} name @param {string} message */
  constructor(name, message) {
    super(`${name}: ${message}`)
    this.name = 'SettingsError'
    this.code = 'DRILL_SETTING_INVALID'
    this.setting = name
  }
}

/**
 * The run's settings from k6-style variables (`-e NAME=value`, or the process environment).
 * Every value is validated; a bad one throws a SettingsError naming it (never echoing BASE_URL's credentials).
 * @param {Record<string, string | undefined>} env
 * @returns {Settings}
 */
export function resolveSettings(env) {
  const baseUrl = env.BASE_URL ?? DEFAULTS.baseUrl
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(baseUrl) || /@/.test(baseUrl)) {
    throw new SettingsError(
      'BASE_URL',
      'must be an http:// or https:// URL with no credentials, query or fragment, such as http://127.0.0.1:3000',
    )
  }
  const durationS = number(env, 'DURATION', DEFAULTS.durationS, { min: 1, max: 86_400 })
  const settings = {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    rate: number(env, 'RATE', DEFAULTS.rate, { min: 1, max: 5000, integer: true }),
    readRate: number(env, 'READ_RATE', DEFAULTS.readRate, { min: 0, max: 5000, integer: true }),
    durationS,
    requestTimeoutMs: number(env, 'REQUEST_TIMEOUT_MS', DEFAULTS.requestTimeoutMs, { min: 100, max: 600_000, integer: true }),
    retryBudgetMs: number(env, 'RETRY_BUDGET_MS', DEFAULTS.retryBudgetMs, { min: 0, max: 3_600_000, integer: true }),
    maxInFlight: number(env, 'MAX_IN_FLIGHT', DEFAULTS.maxInFlight, { min: 1, max: 100_000, integer: true }),
    runId: env.RUN_ID ?? newRunId(),
    faultAtS: optionalNumber(env, 'FAULT_AT', { min: 0, max: durationS }),
    healAtS: optionalNumber(env, 'HEAL_AT', { min: 0, max: 86_400 }),
  }
  if (!/^[A-Za-z0-9]{1,24}$/.test(settings.runId)) throw new SettingsError('RUN_ID', 'must be 1 to 24 letters or digits')
  if (settings.healAtS !== null && (settings.faultAtS === null || settings.healAtS < settings.faultAtS)) {
    throw new SettingsError('HEAL_AT', 'needs FAULT_AT, and must not be before it')
  }
  return settings
}

/**
 * @param {Record<string, string | undefined>} env @param {string} name @param {number} fallback
 * @param {{min: number, max: number, integer?: boolean}} bounds
 */
function number(env, name, fallback, bounds) {
  const value = optionalNumber(env, name, bounds)
  return value === null ? fallback : value
}

/**
 * @param {Record<string, string | undefined>} env @param {string} name
 * @param {{min: number, max: number, integer?: boolean}} bounds
 */
function optionalNumber(env, name, { min, max, integer = false }) {
  const text = env[name]
  if (text === undefined || text === '') return null
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new SettingsError(name, `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${text.slice(0, 40)}"`)
  }
  return value
}

function newRunId() {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`
}

/** The id of a run's n-th logical write: also its Idempotency-Key, and what `orders.note` holds after NOTE_PREFIX. */
export function logicalWriteId(/** @type {string} */ runId, /** @type {number} */ iteration) {
  return `${runId}-${iteration}`
}

/**
 * One logical write: an order whose note carries the logical id. Every attempt sends the same
 * request, so a retry is a replay the API answers from the first attempt's row.
 * @param {Settings} settings @param {number} iteration
 */
export function writeRequest(settings, iteration) {
  const logicalId = logicalWriteId(settings.runId, iteration)
  return {
    logicalId,
    url: `${settings.baseUrl}/v1/orders`,
    headers: { 'content-type': 'application/json', 'idempotency-key': logicalId },
    body: JSON.stringify({
      customerId: `drill-${iteration % 16}`,
      currency: 'EUR',
      items: [{ sku: `drill-${iteration % 97}`, quantity: 1 + (iteration % 3), unitPriceCents: 100 + (iteration % 900) }],
      note: `${NOTE_PREFIX}${logicalId}`,
    }),
  }
}

/** A light read beside the writes: the newest orders, from a replica if one is healthy. */
export function readRequest(/** @type {Settings} */ settings) {
  return { url: `${settings.baseUrl}/v1/orders?limit=5&consistency=eventual` }
}

/** @typedef {'acked' | 'retry' | 'rejected'} WriteOutcome */

/**
 * How an answer to a write attempt is judged. 0 stands for no answer (refused, reset, timed out).
 * 2xx: stored (201 created, 200 a replay). 408/425/429/5xx or no answer: the outcome is unknown or
 * the service is failing over; retry with the same key. Any other 4xx is a defect in the request:
 * never retried, it fails the run's success rate.
 * @param {number} status
 * @returns {WriteOutcome}
 */
export function classifyWrite(status) {
  if (status === 200 || status === 201) return 'acked'
  if (status === 0 || status === 408 || status === 425 || status === 429 || status >= 500) return 'retry'
  return 'rejected'
}

/** Wait before attempt `attempt + 1` (attempts count from 1): 100 ms doubling to 1 s. */
export function retryDelayMs(/** @type {number} */ attempt) {
  return Math.min(100 * 2 ** Math.max(0, attempt - 1), 1000)
}

/**
 * Whether attempt `attempt + 1` may start `elapsedMs` after the logical write's first attempt started.
 * @param {Settings} settings @param {number} elapsedMs
 */
export function mayRetry(settings, elapsedMs) {
  return elapsedMs < settings.retryBudgetMs
}

/**
 * The phase of a request started `elapsedS` seconds into the run: before the fault, during it
 * (until healed), after it; `steady` when the run has no fault times.
 * @param {Settings} settings @param {number} elapsedS
 * @returns {Phase}
 */
export function phaseAt(settings, elapsedS) {
  if (settings.faultAtS === null) return 'steady'
  if (elapsedS < settings.faultAtS) return 'before'
  if (settings.healAtS === null || elapsedS < settings.healAtS) return 'during'
  return 'after'
}
