// The drill's scenario (../lib/scenario.js) on Node, for machines without k6: logical writes on an
// open schedule, each retried with its key within the retry budget, reads beside them, and one
// attempt record per request (records.mjs).
import { setMaxListeners } from 'node:events'
import { classifyWrite, mayRetry, readRequest, retryDelayMs, writeRequest } from '../lib/scenario.js'
import { createDispatcher, sendRequest } from './http-attempt.mjs'
import { runOpenModel } from './open-model.mjs'

/**
 * @typedef {object} EngineRun
 * @property {number} writesStarted logical writes started
 * @property {number} writesAcked logical writes acknowledged within their budget
 * @property {number} writesDropped write slots that could not start (maxInFlight reached)
 * @property {number} readsStarted
 * @property {number} readsDropped
 */

/**
 * @param {import('../lib/scenario.js').Settings} settings
 * @param {{write(record: import('./records.mjs').AttemptRecord): void}} records
 * @param {{stopSignal?: AbortSignal, abortSignal?: AbortSignal}} [options] stopSignal: start no more
 *   requests, let those started finish (retries included); abortSignal: abandon them too (Ctrl-C)
 * @returns {Promise<EngineRun>}
 */
export async function runNodeEngine(settings, records, { stopSignal, abortSignal } = {}) {
  const signal = abortSignal
  // Every request in flight listens on it (AbortSignal.any): hundreds at once is expected.
  if (abortSignal) setMaxListeners(0, abortSignal)
  const scheduling = stopSignal && abortSignal ? AbortSignal.any([stopSignal, abortSignal]) : (stopSignal ?? abortSignal)
  const dispatcher = createDispatcher(settings.maxInFlight + 16)
  let writesAcked = 0
  const durationMs = settings.durationS * 1000
  try {
    const writes = runOpenModel({
      rate: settings.rate,
      durationMs,
      maxInFlight: settings.maxInFlight,
      signal: scheduling,
      onDropped: ({ index, scheduledMs }) => records.write(droppedRecord('write', writeRequest(settings, index).logicalId, scheduledMs)),
      run: async ({ index, scheduledMs }) => {
        const req = writeRequest(settings, index)
        const firstStart = Date.now()
        for (let attempt = 1; ; attempt++) {
          const start = Date.now()
          const answer = await sendRequest(dispatcher, {
            url: req.url,
            method: 'POST',
            headers: req.headers,
            body: req.body,
            timeoutMs: settings.requestTimeoutMs,
            signal,
          })
          const outcome = classifyWrite(answer.status)
          records.write({
            kind: 'write',
            logical_id: req.logicalId,
            key: req.logicalId,
            attempt,
            scheduled_ms: scheduledMs,
            start_ms: start,
            end_ms: Date.now(),
            status: answer.status,
            outcome,
            error: answer.error,
            order_id: answer.orderId,
          })
          if (outcome === 'acked') {
            writesAcked++
            return
          }
          if (outcome === 'rejected' || signal?.aborted) return
          const delay = retryDelayMs(attempt)
          if (!mayRetry(settings, Date.now() + delay - firstStart)) return
          await new Promise((resolve) => setTimeout(resolve, delay))
        }
      },
    })
    const readCap = Math.max(4, settings.readRate)
    const reads =
      settings.readRate === 0
        ? Promise.resolve({ started: 0, dropped: 0 })
        : runOpenModel({
            rate: settings.readRate,
            durationMs,
            maxInFlight: readCap,
            signal: scheduling,
            onDropped: ({ scheduledMs }) => records.write(droppedRecord('read', null, scheduledMs)),
            run: async ({ scheduledMs }) => {
              const start = Date.now()
              const answer = await sendRequest(dispatcher, { url: readRequest(settings).url, timeoutMs: settings.requestTimeoutMs, signal })
              records.write({
                kind: 'read',
                logical_id: null,
                key: null,
                attempt: 1,
                scheduled_ms: scheduledMs,
                start_ms: start,
                end_ms: Date.now(),
                status: answer.status,
                outcome: answer.status >= 200 && answer.status < 300 ? 'ok' : 'failed',
                error: answer.error,
                order_id: null,
              })
            },
          })
    const [w, r] = await Promise.all([writes, reads])
    return { writesStarted: w.started, writesAcked, writesDropped: w.dropped, readsStarted: r.started, readsDropped: r.dropped }
  } finally {
    await dispatcher.close()
  }
}

/**
 * @param {'write' | 'read'} kind @param {string | null} logicalId @param {number} scheduledMs
 * @returns {import('./records.mjs').AttemptRecord}
 */
function droppedRecord(kind, logicalId, scheduledMs) {
  return {
    kind,
    logical_id: logicalId,
    key: logicalId,
    attempt: 0,
    scheduled_ms: scheduledMs,
    start_ms: null,
    end_ms: null,
    status: null,
    outcome: 'dropped',
    error: null,
    order_id: null,
  }
}
