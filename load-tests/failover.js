// The failover drill for k6 (https://k6.io), which users bring themselves:
//
//   k6 run load-tests/failover.js -e BASE_URL=http://127.0.0.1:3000 -e RATE=50 -e DURATION=60
//
// Logical writes (POST /v1/orders, each with its own Idempotency-Key) start RATE times a second
// whatever the answers take; a write that gets no answer, a 503 or another retryable status is sent
// again, the same request with the same key, until it is acknowledged or its retry budget is spent.
// Reads (GET /v1/orders, eventual consistency) run beside them. The run fails (k6 exits 99) when
// fewer logical writes than LIMITS.minWriteSuccessRate are acknowledged. What a write is, how an
// answer is judged and how a write is retried come from lib/scenario.js, which the Node engine runs
// too. See README.md, "Running the drill with your own k6".
//
// Imports only k6's modules and ./lib files: no Node built-ins, no remote jslib.
import { sleep } from 'k6'
import exec from 'k6/execution'
import http from 'k6/http'
import { Counter, Rate, Trend } from 'k6/metrics'
import { k6Options } from './lib/k6-options.js'
import { drillSummary, summaryText } from './lib/k6-summary.js'
import { classifyWrite, mayRetry, phaseAt, readRequest, resolveSettings, retryDelayMs, writeRequest } from './lib/scenario.js'

/** @typedef {import('./lib/scenario.js').Settings} Settings */

// A bad -e value throws a SettingsError naming it here, in the init context: k6 stops before any
// request, printing the message.
export const options = k6Options(resolveSettings(__ENV))

/** Per logical write: true when acknowledged (201, or 200 for a replay) within its retry budget. */
const logicalWriteSuccess = new Rate('logical_write_success')
/** Write attempts that were not acknowledged (then retried, or the write rejected or given up). */
const writeAttemptsFailed = new Counter('write_attempts_failed')
/** Per VU, on each acknowledgement: the time since this VU's previous one. */
const writeGapMs = new Trend('write_gap_ms', true)
/** Per acknowledged write, from its first attempt's start; tagged with that attempt's phase. */
const writeLatencyMs = new Trend('write_latency_ms', true)

// Only these answers acknowledge a write: every other attempt counts in http_req_failed.
const WRITE_ACKS = http.expectedStatuses(200, 201)
const READ_OKS = http.expectedStatuses({ min: 200, max: 299 })

/** This VU's last acknowledgement (each VU has its own copy of this module). @type {number | null} */
let lastAckMs = null

/**
 * Settings are resolved once more here and handed to every VU: without RUN_ID each resolution draws
 * a new run id, and all VUs must write under the same one. handleSummary finds them in setup_data.
 * @returns {Settings}
 */
export function setup() {
  return resolveSettings(__ENV)
}

/**
 * One logical write: attempts with the same request until acknowledged, rejected, or out of budget.
 * @param {Settings} settings
 */
export function writes(settings) {
  const request = writeRequest(settings, exec.scenario.iterationInTest)
  const firstStartMs = Date.now()
  const phase = phaseAt(settings, secondsIntoRun(firstStartMs))
  let acked = false
  for (let attempt = 1; ; attempt++) {
    const startMs = attempt === 1 ? firstStartMs : Date.now()
    const attemptPhase = attempt === 1 ? phase : phaseAt(settings, secondsIntoRun(startMs))
    const res = http.post(request.url, request.body, {
      headers: request.headers,
      timeout: `${settings.requestTimeoutMs}ms`,
      responseCallback: WRITE_ACKS,
      // engine/k6-json.mjs makes attempt records of these (with k6's status and error_code).
      tags: {
        kind: 'write',
        phase: attemptPhase,
        logical_id: request.logicalId,
        attempt: String(attempt),
        scheduled_ms: String(firstStartMs),
      },
    })
    const outcome = classifyWrite(res.status)
    if (outcome === 'acked') {
      acked = true
      break
    }
    writeAttemptsFailed.add(1, { phase: attemptPhase })
    if (outcome === 'rejected') break
    const delayMs = retryDelayMs(attempt)
    if (!mayRetry(settings, Date.now() + delayMs - firstStartMs)) break
    sleep(delayMs / 1000)
  }
  logicalWriteSuccess.add(acked, { phase })
  if (!acked) return
  const ackMs = Date.now()
  writeLatencyMs.add(ackMs - firstStartMs, { phase })
  if (lastAckMs !== null) writeGapMs.add(ackMs - lastAckMs)
  lastAckMs = ackMs
}

/** One read, never retried. @param {Settings} settings */
export function reads(settings) {
  const { url } = readRequest(settings)
  http.get(url, {
    timeout: `${settings.requestTimeoutMs}ms`,
    responseCallback: READ_OKS,
    tags: { kind: 'read', phase: phaseAt(settings, secondsIntoRun(Date.now())) },
  })
}

/**
 * The drill's summary as JSON to SUMMARY_JSON (default load-tests-summary.json, relative to the
 * directory k6 runs in) and as a few lines on stdout, in place of k6's own summary.
 * @param {import('./lib/k6-summary.js').K6SummaryData} data
 */
export function handleSummary(data) {
  const file = __ENV.SUMMARY_JSON || 'load-tests-summary.json'
  const summary = drillSummary(data)
  return {
    [file]: JSON.stringify({ ...summary, k6: data }, null, 2) + '\n',
    stdout: summaryText(summary, file),
  }
}

/** Seconds since the running scenario started: what FAULT_AT and HEAL_AT count from. */
function secondsIntoRun(/** @type {number} */ ms) {
  return (ms - exec.scenario.startTime) / 1000
}
