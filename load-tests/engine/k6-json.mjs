// Attempt records (records.mjs) made from k6's JSON output (`k6 run --out json=FILE failover.js`),
// so a run under the user's own k6 is verified and pictured like a run of the Node engine.
//
// k6 writes one JSON object a line: {"type":"Metric",...} declares a metric, {"type":"Point",
// "metric":NAME,"data":{"time":RFC3339,"value":V,"tags":{...}}} is one sample. failover.js tags its
// requests (kind, logical_id, attempt, scheduled_ms, phase); k6 adds status, and error_code when a
// request got no answer. Taken here:
// - each http_req_duration Point tagged kind=write or kind=read: one attempt. k6 stamps the sample
//   when the answer (or the error) arrived, and the value is the request's duration in ms, so the
//   attempt started at time - value (connection set-up, which http_req_duration leaves out, is not
//   counted in it);
// - each dropped_iterations Point of the `writes` scenario: one logical write that could not start.
// Every other metric is ignored.
import { classifyWrite } from '../lib/scenario.js'
import { readJsonLines } from './records.mjs'

/** @typedef {import('./records.mjs').AttemptRecord} AttemptRecord */

/**
 * One line of k6's JSON output, as far as it is read here.
 * @typedef {object} K6Line
 * @property {string} type `Metric` or `Point`
 * @property {string} metric
 * @property {{time?: string, value?: number, tags?: Record<string, string> | null, metadata?: Record<string, string>}} [data]
 */

/**
 * The attempt records in a k6 JSON output file, in the file's order. A line that is not JSON, or a
 * Point this needs that lacks what it needs, throws naming the file and line.
 * @param {string} file
 * @returns {Promise<AttemptRecord[]>}
 */
export async function recordsFromK6Json(file) {
  /** @type {AttemptRecord[]} */
  const records = []
  for await (const { value, line } of readJsonLines(file)) {
    const entry = /** @type {K6Line} */ (value)
    if (entry?.type !== 'Point') continue
    try {
      if (entry.metric === 'http_req_duration') {
        const record = attemptRecord(entry)
        if (record) records.push(record)
      } else if (entry.metric === 'dropped_iterations') {
        records.push(...droppedRecords(entry))
      }
    } catch (err) {
      throw new Error(`${file}:${line}: ${/** @type {Error} */ (err).message}`, { cause: err })
    }
  }
  return records
}

/**
 * An http_req_duration Point made into an attempt record; null for a request that is not the drill's.
 * @param {K6Line} entry
 * @returns {AttemptRecord | null}
 */
function attemptRecord(entry) {
  const tags = tagsOf(entry)
  const kind = tags.kind
  if (kind !== 'write' && kind !== 'read') return null
  const endMs = timeMs(entry.data?.time)
  const durationMs = entry.data?.value
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0)
    throw new Error('an http_req_duration point without a duration')
  const startMs = round(endMs - durationMs)
  const status = tags.status === undefined ? 0 : integerTag(tags, 'status')
  const scheduledMs = tags.scheduled_ms === undefined ? startMs : integerTag(tags, 'scheduled_ms')
  const noAnswer = status === 0
  if (kind === 'write') {
    const logicalId = tags.logical_id
    if (!logicalId) throw new Error('a write without a logical_id tag')
    return {
      kind,
      logical_id: logicalId,
      key: logicalId,
      attempt: integerTag(tags, 'attempt'),
      scheduled_ms: scheduledMs,
      start_ms: startMs,
      end_ms: endMs,
      status,
      outcome: classifyWrite(status),
      error: noAnswer ? k6Error(tags) : null,
      order_id: null,
    }
  }
  return {
    kind,
    logical_id: null,
    key: null,
    attempt: tags.attempt === undefined ? 1 : integerTag(tags, 'attempt'),
    scheduled_ms: scheduledMs,
    start_ms: startMs,
    end_ms: endMs,
    status,
    outcome: status >= 200 && status < 300 ? 'ok' : 'failed',
    error: noAnswer ? k6Error(tags) : null,
    order_id: null,
  }
}

/**
 * A dropped_iterations Point of the writes scenario: one record per iteration k6 could not start
 * (k6 counts each as a point of value 1).
 * @param {K6Line} entry
 * @returns {AttemptRecord[]}
 */
function droppedRecords(entry) {
  const tags = tagsOf(entry)
  if (tags.scenario !== 'writes') return []
  const atMs = timeMs(entry.data?.time)
  const count = entry.data?.value ?? 1
  if (!Number.isInteger(count) || count < 0) throw new Error(`a dropped_iterations point with value ${count}`)
  return Array.from({ length: count }, () => ({
    kind: /** @type {const} */ ('write'),
    logical_id: null,
    key: null,
    attempt: 0,
    scheduled_ms: atMs,
    start_ms: null,
    end_ms: null,
    status: null,
    outcome: /** @type {const} */ ('dropped'),
    error: null,
    order_id: null,
  }))
}

/**
 * A Point's tags, with its metadata (where k6 puts per-sample values that are not tags) under them.
 * @param {K6Line} entry
 * @returns {Record<string, string>}
 */
function tagsOf(entry) {
  return { ...entry.data?.metadata, ...entry.data?.tags }
}

/** What k6 said went wrong with a request that got no answer: its error code (https://grafana.com/docs/k6/latest/javascript-api/error-codes/). */
function k6Error(/** @type {Record<string, string>} */ tags) {
  return tags.error_code ? `k6:${tags.error_code}` : 'k6:no-answer'
}

/** @param {Record<string, string>} tags @param {string} name */
function integerTag(tags, name) {
  const text = tags[name]
  if (text === undefined || !/^\d+$/.test(text))
    throw new Error(`tag ${name} ${text === undefined ? 'missing' : `is not an integer: "${text.slice(0, 40)}"`}`)
  return Number(text)
}

/**
 * Epoch ms of an RFC 3339 time as k6 writes it (nanoseconds, any offset), to the microsecond:
 * Date.parse alone would drop everything below the millisecond.
 * @param {string | undefined} text
 */
function timeMs(text) {
  const match = typeof text === 'string' ? /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text) : null
  const wholeSeconds = match ? Date.parse(`${match[1]}${match[3]}`) : NaN
  if (!match || Number.isNaN(wholeSeconds)) throw new Error(`a point without a valid time: ${JSON.stringify(text)?.slice(0, 60)}`)
  const fraction = match[2] ?? ''
  return round(wholeSeconds + Number(`0.${fraction || '0'}`) * 1000)
}

/** To the microsecond, so sums of floats do not show as 1494333285239.5312. */
function round(/** @type {number} */ ms) {
  return Math.round(ms * 1000) / 1000
}
