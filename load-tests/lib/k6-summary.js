// The failover drill's end-of-test summary under k6 (failover.js's handleSummary): the figures that
// matter for a failover, taken from k6's summary data, as JSON and as a short text for the terminal.
// Plain JavaScript with no imports from k6 or jslib.
import { LIMITS } from './scenario.js'
import { OBSERVE, PHASES } from './k6-options.js'

/** @typedef {import('./scenario.js').Settings} Settings */

/**
 * One metric of k6's summary data (https://grafana.com/docs/k6/latest/results-output/end-of-test/custom-summary/).
 * @typedef {object} K6SummaryMetric
 * @property {string} type counter, gauge, rate or trend
 * @property {string} contains
 * @property {Record<string, number>} values counter: count, rate; rate: rate, passes, fails; trend: the summaryTrendStats
 * @property {Record<string, {ok: boolean}>} [thresholds]
 */

/**
 * The part of k6's summary data read here.
 * @typedef {object} K6SummaryData
 * @property {Record<string, K6SummaryMetric>} metrics
 * @property {{testRunDurationMs?: number}} [state]
 * @property {unknown} [setup_data] what setup() returned: the run's settings
 */

/**
 * @typedef {object} Trend
 * @property {number | null} count
 * @property {number | null} avg
 * @property {number | null} med
 * @property {number | null} p90
 * @property {number | null} p99
 * @property {number | null} max
 */

/**
 * @typedef {object} DrillSummary
 * @property {'k6'} engine
 * @property {boolean} passed every threshold held
 * @property {number | null} durationS
 * @property {Settings | null} settings
 * @property {{started: number, acked: number, failed: number, successRate: number | null, minSuccessRate: number, dropped: number, attemptsFailed: number}} writes
 *   started: logical writes started (acked + failed); dropped: iterations k6 could not start
 * @property {Trend | null} writeLatencyMs first attempt's start to the acknowledgement, acknowledged writes
 * @property {Record<string, Trend>} writeLatencyMsByPhase
 * @property {Trend | null} writeGapMs per VU, time between two acknowledgements
 * @property {{count: number, failed: number} | null} reads
 * @property {{metric: string, threshold: string, ok: boolean}[]} thresholds the gates (not the always-holding ones that only put figures in the summary)
 */

/**
 * @param {K6SummaryData} data
 * @returns {DrillSummary}
 */
export function drillSummary(data) {
  const metrics = data.metrics ?? {}
  const success = metrics.logical_write_success?.values
  const acked = success?.passes ?? 0
  const failed = success?.fails ?? 0
  /** @type {Record<string, Trend>} */
  const byPhase = {}
  for (const phase of PHASES) {
    const metric = metrics[`write_latency_ms{phase:${phase}}`]
    if (metric) byPhase[phase] = trend(metric)
  }
  // http_req_failed adds true for a failed request: its passes are the failures.
  const reads = metrics['http_req_failed{kind:read}']?.values
  /** @type {{metric: string, threshold: string, ok: boolean}[]} */
  const thresholds = []
  for (const [name, metric] of Object.entries(metrics)) {
    for (const [threshold, result] of Object.entries(metric.thresholds ?? {})) {
      if (/** @type {string[]} */ (Object.values(OBSERVE)).includes(threshold)) continue
      thresholds.push({ metric: name, threshold, ok: result.ok })
    }
  }
  const runMs = data.state?.testRunDurationMs
  return {
    engine: 'k6',
    passed: Object.values(metrics).every((metric) => Object.values(metric.thresholds ?? {}).every((result) => result.ok)),
    durationS: typeof runMs === 'number' ? Math.round(runMs) / 1000 : null,
    settings: isSettings(data.setup_data) ? data.setup_data : null,
    writes: {
      started: acked + failed,
      acked,
      failed,
      successRate: acked + failed > 0 ? acked / (acked + failed) : null,
      minSuccessRate: LIMITS.minWriteSuccessRate,
      dropped: metrics['dropped_iterations{scenario:writes}']?.values.count ?? 0,
      attemptsFailed: metrics.write_attempts_failed?.values.count ?? 0,
    },
    writeLatencyMs: metrics.write_latency_ms ? trend(metrics.write_latency_ms) : null,
    writeLatencyMsByPhase: byPhase,
    writeGapMs: metrics.write_gap_ms ? trend(metrics.write_gap_ms) : null,
    reads: reads ? { count: (reads.passes ?? 0) + (reads.fails ?? 0), failed: reads.passes ?? 0 } : null,
    thresholds,
  }
}

/**
 * The summary for a terminal: a few lines, the verdict first.
 * @param {DrillSummary} summary
 * @param {string} summaryFile where the JSON summary was written
 */
export function summaryText(summary, summaryFile) {
  const { settings, writes } = summary
  const lines = [
    `failover drill (k6): ${summary.passed ? 'PASSED' : 'FAILED'}${summary.durationS === null ? '' : ` in ${summary.durationS.toFixed(1)} s`}`,
  ]
  if (settings) {
    const reads = settings.readRate > 0 ? `, ${settings.readRate} reads/s` : ''
    const fault =
      settings.faultAtS === null
        ? ''
        : `, fault at ${settings.faultAtS} s${settings.healAtS === null ? '' : `, healed at ${settings.healAtS} s`}`
    lines.push(
      `  run         ${settings.runId} on ${settings.baseUrl}: ${settings.rate} writes/s for ${settings.durationS} s${reads}${fault}`,
    )
  }
  lines.push(
    `  writes      ${writes.started} started, ${writes.acked} acknowledged, ${writes.failed} failed: ${percent(writes.successRate)} acknowledged (at least ${percent(writes.minSuccessRate)} required)`,
    `              ${writes.attemptsFailed} attempts failed (retried with the same key, or rejected); ${writes.dropped} writes dropped${settings ? ` (not started: MAX_IN_FLIGHT ${settings.maxInFlight} writes were in flight)` : ''}`,
  )
  if (summary.writeLatencyMs) lines.push(`  latency     ${trendText(summary.writeLatencyMs)}  (first attempt to acknowledgement)`)
  for (const [phase, values] of Object.entries(summary.writeLatencyMsByPhase)) lines.push(`    ${phase.padEnd(10)}${trendText(values)}`)
  if (summary.writeGapMs) lines.push(`  write gap   ${trendText(summary.writeGapMs)}  (per VU, between acknowledgements)`)
  if (summary.reads) lines.push(`  reads       ${summary.reads.count}, ${summary.reads.failed} failed`)
  for (const { metric, threshold, ok } of summary.thresholds)
    lines.push(`  threshold   ${ok ? 'ok    ' : 'FAILED'} ${metric}: ${threshold}`)
  lines.push(`  summary     ${summaryFile}`)
  return lines.join('\n') + '\n'
}

/** @param {K6SummaryMetric} metric @returns {Trend} */
function trend(metric) {
  const value = (/** @type {string} */ key) => (typeof metric.values[key] === 'number' ? metric.values[key] : null)
  return { count: value('count'), avg: value('avg'), med: value('med'), p90: value('p(90)'), p99: value('p(99)'), max: value('max') }
}

/** @param {Trend} values */
function trendText(values) {
  if (values.count === 0) return 'none'
  const count = values.count === null ? '' : `${values.count}: `
  return `${count}med ${duration(values.med)}  p90 ${duration(values.p90)}  p99 ${duration(values.p99)}  max ${duration(values.max)}`
}

function duration(/** @type {number | null} */ ms) {
  if (ms === null) return '-'
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`
}

function percent(/** @type {number | null} */ rate) {
  if (rate === null) return '-'
  return `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 3)}%`
}

/** @param {unknown} value @returns {value is Settings} */
function isSettings(value) {
  return typeof value === 'object' && value !== null && typeof (/** @type {Settings} */ (value).runId) === 'string'
}
