// One line per step with elapsed time; `--json` prints one JSON object per line instead.
// `onEvent` sees every step as it starts and ends, with the line printed for it (the
// ansible-runner artifacts are written from these).
import { errorMessage } from '../../lib/error-message.mjs'
import { StepError } from '../../lib/errors.mjs'

/**
 * @typedef {{event: 'start'|'step'|'info', step: string, host?: string, status?: string, detail?: string, duration_ms?: number, elapsed_ms: number}} ProgressRecord
 * @param {{json?: boolean, out?: NodeJS.WritableStream, onEvent?: (record: ProgressRecord, line: string) => void, scrub?: (text: string) => string}} [options]
 *   scrub: applied to every detail (a failed step's detail is an error message, which may quote a secret)
 */
export function createProgress({ json = false, out = process.stdout, onEvent, scrub = (text) => text } = {}) {
  const startedAt = Date.now()
  /** @type {ProgressRecord[]} */
  const results = []
  /** @type {Array<(record: ProgressRecord, line: string) => void>} */
  const listeners = onEvent ? [onEvent] : []
  /** @param {number} ms */
  const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`
  /** @type {Record<string, string>} */
  const marks = { changed: '+', ok: '=', failed: '!', info: '-' }
  /** @param {ProgressRecord} raw */
  const emit = (raw) => {
    const record = raw.detail === undefined ? raw : { ...raw, detail: scrub(raw.detail) }
    let line
    if (json) {
      line = JSON.stringify(record) + '\n'
    } else {
      const mark = (record.status === undefined ? undefined : marks[record.status]) ?? '-'
      const where = record.host ? ` [${record.host}]` : ''
      line = `${mark} ${seconds(record.elapsed_ms).padStart(7)}  ${record.step}${where}: ${record.detail}\n`
    }
    out.write(line)
    for (const listener of listeners) listener(record, line)
  }

  return {
    results,
    /**
     * Runs one step. `fn` returns {changed, detail}; a thrown error is reported and rethrown as a
     * StepError naming the step and host (one from a step inside this one as it is).
     * @param {string} step @param {string|undefined} host
     * @param {() => Promise<{changed: boolean, detail: string}>} fn
     */
    async step(step, host, fn) {
      const t0 = Date.now()
      for (const listener of listeners) listener({ event: 'start', step, host, elapsed_ms: t0 - startedAt }, '')
      try {
        const { changed, detail } = await fn()
        /** @type {ProgressRecord} */
        const record = {
          event: 'step',
          step,
          host,
          status: changed ? 'changed' : 'ok',
          detail,
          duration_ms: Date.now() - t0,
          elapsed_ms: Date.now() - startedAt,
        }
        results.push(record)
        emit(record)
        return record
      } catch (error) {
        /** @type {ProgressRecord} */
        const record = {
          event: 'step',
          step,
          host,
          status: 'failed',
          detail: errorMessage(error),
          duration_ms: Date.now() - t0,
          elapsed_ms: Date.now() - startedAt,
        }
        results.push(record)
        emit(record)
        if (error instanceof StepError) throw error
        throw new StepError(errorMessage(error), { step, host, cause: error })
      }
    },
    /**
     * A line that is not a step (a plan, a summary); `extra` adds fields to the JSON record.
     * @param {string} step @param {string} detail @param {Record<string, unknown>} [extra]
     */
    info(step, detail, extra = {}) {
      emit({ event: 'info', step, status: 'info', detail, elapsed_ms: Date.now() - startedAt, ...extra })
    },
    elapsedMs: () => Date.now() - startedAt,
    /**
     * Also tells `listener` about every step and info line, after it is printed.
     * @param {(record: ProgressRecord, line: string) => void} listener
     */
    listen(listener) {
      listeners.push(listener)
    },
  }
}
