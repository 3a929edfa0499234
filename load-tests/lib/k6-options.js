// k6's options for the failover drill (../failover.js), from the run's settings: the two
// open-model scenarios, the threshold that fails the run, and the summary's statistics. No k6
// module is imported here (only k6's types), so the options can be read without k6.
import { LIMITS } from './scenario.js'

/** @typedef {import('./scenario.js').Settings} Settings */
/** @typedef {import('./scenario.js').Phase} Phase */

/**
 * Thresholds that always hold. k6's end-of-test summary has a submetric (such as the write latency
 * of one phase) only when a threshold names it: these are there for the figures, not as gates.
 */
export const OBSERVE = Object.freeze({ trend: 'max>=0', rate: 'rate>=0', counter: 'count>=0' })

/** The statistics of every Trend in the summary (`--summary-trend-stats` overrides them). */
export const TREND_STATS = Object.freeze(['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'count'])

/** Every phase phaseAt() tags a request with, in the order of a run. @type {readonly Phase[]} */
export const PHASES = Object.freeze(['before', 'during', 'after', 'steady'])

/** The phases of this run's requests: before/during/after with FAULT_AT, steady without. */
export function phasesOf(/** @type {Settings} */ settings) {
  return PHASES.filter((phase) => (settings.faultAtS === null) === (phase === 'steady'))
}

/**
 * Seconds k6 lets a scenario's started iterations finish once its duration is over. A write keeps
 * retrying for up to RETRY_BUDGET_MS, and its last attempt may then wait REQUEST_TIMEOUT_MS: an
 * iteration k6 cut short would be neither acknowledged nor failed in logical_write_success.
 * @param {Settings} settings
 */
export function writesGracefulStopS(settings) {
  return Math.ceil((settings.retryBudgetMs + settings.requestTimeoutMs) / 1000) + 5
}

/**
 * @param {Settings} settings
 * @returns {import('k6/options').Options}
 */
export function k6Options(settings) {
  /** @type {Record<string, import('k6/options').Scenario>} */
  const scenarios = {
    // One iteration = one logical write, started RATE times a second whatever the answers take.
    // Every VU is allocated before the run: an iteration k6 cannot start is dropped (and counted
    // in dropped_iterations) only when MAX_IN_FLIGHT writes are in flight, never because a VU is
    // still being initialised.
    writes: {
      executor: 'constant-arrival-rate',
      exec: 'writes',
      rate: settings.rate,
      timeUnit: '1s',
      duration: `${settings.durationS}s`,
      preAllocatedVUs: settings.maxInFlight,
      maxVUs: settings.maxInFlight,
      gracefulStop: `${writesGracefulStopS(settings)}s`,
    },
  }
  if (settings.readRate > 0) {
    // Reads are not retried: one is in flight for at most REQUEST_TIMEOUT_MS.
    const readVUs = Math.min(settings.maxInFlight, Math.max(1, Math.ceil((settings.readRate * settings.requestTimeoutMs) / 1000)))
    scenarios.reads = {
      executor: 'constant-arrival-rate',
      exec: 'reads',
      rate: settings.readRate,
      timeUnit: '1s',
      duration: `${settings.durationS}s`,
      preAllocatedVUs: Math.min(readVUs, settings.readRate),
      maxVUs: readVUs,
      gracefulStop: `${Math.ceil(settings.requestTimeoutMs / 1000) + 5}s`,
    }
  }

  /** @type {Record<string, string[]>} */
  const thresholds = {
    // The gate: k6 exits 99 when it fails.
    logical_write_success: [`rate>=${LIMITS.minWriteSuccessRate}`],
  }
  for (const phase of phasesOf(settings)) thresholds[`write_latency_ms{phase:${phase}}`] = [OBSERVE.trend]
  // dropped_iterations counts the reads' too.
  thresholds['dropped_iterations{scenario:writes}'] = [OBSERVE.counter]
  if (settings.readRate > 0) thresholds['http_req_failed{kind:read}'] = [OBSERVE.rate]

  return {
    scenarios,
    thresholds,
    summaryTrendStats: [...TREND_STATS],
    // Only the status is read; bodies would cost memory in every VU.
    discardResponseBodies: true,
  }
}
