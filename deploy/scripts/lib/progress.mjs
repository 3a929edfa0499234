// One line per step with elapsed time; `--json` prints one JSON object per line instead.

/** @param {{json?: boolean, out?: NodeJS.WritableStream}} [options] */
export function createProgress({ json = false, out = process.stdout } = {}) {
  const startedAt = Date.now()
  const results = []
  const seconds = (ms) => `${(ms / 1000).toFixed(1)}s`
  const emit = (record) => {
    if (json) {
      out.write(JSON.stringify(record) + '\n')
    } else {
      const mark = { changed: '+', ok: '=', failed: '!', info: '-' }[record.status] ?? '-'
      const where = record.host ? ` [${record.host}]` : ''
      out.write(`${mark} ${seconds(record.elapsed_ms).padStart(7)}  ${record.step}${where}: ${record.detail}\n`)
    }
  }

  return {
    results,
    /**
     * Runs one step. `fn` returns {changed, detail}; a thrown error is reported and rethrown.
     * @param {string} step @param {string|undefined} host
     * @param {() => Promise<{changed: boolean, detail: string}>} fn
     */
    async step(step, host, fn) {
      const t0 = Date.now()
      try {
        const { changed, detail } = await fn()
        const record = { event: 'step', step, host, status: changed ? 'changed' : 'ok', detail, duration_ms: Date.now() - t0, elapsed_ms: Date.now() - startedAt }
        results.push(record)
        emit(record)
        return record
      } catch (error) {
        const record = { event: 'step', step, host, status: 'failed', detail: error.message, duration_ms: Date.now() - t0, elapsed_ms: Date.now() - startedAt }
        results.push(record)
        emit(record)
        error.step ??= step
        throw error
      }
    },
    info(step, detail, extra = {}) {
      emit({ event: 'info', step, status: 'info', detail, elapsed_ms: Date.now() - startedAt, ...extra })
    },
    elapsedMs: () => Date.now() - startedAt,
  }
}
