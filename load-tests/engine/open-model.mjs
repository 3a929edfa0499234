// An open-model schedule: slot i is due at start + i / rate, whether or not earlier slots have
// finished. A slot that is due while `maxInFlight` are still running cannot start and is handed
// to `onDropped`: counted, never silently skipped (coordinated omission is how load tools hide an
// outage). Slots that come due while the event loop was busy start late, and say so (scheduledMs).

/**
 * @param {object} options
 * @param {number} options.rate slots per second
 * @param {number} options.durationMs slots are due during this long
 * @param {number} options.maxInFlight
 * @param {(slot: {index: number, scheduledMs: number}) => Promise<void>} options.run
 * @param {(slot: {index: number, scheduledMs: number}) => void} options.onDropped
 * @param {AbortSignal} [options.signal] stops starting slots (those running finish)
 * @param {() => number} [options.now]
 * @returns {Promise<{started: number, dropped: number}>} once every started slot has finished
 */
export async function runOpenModel({ rate, durationMs, maxInFlight, run, onDropped, signal, now = Date.now }) {
  const startMs = now()
  const total = Math.floor((durationMs * rate) / 1000)
  /** @type {Set<Promise<void>>} */
  const running = new Set()
  let started = 0
  let dropped = 0
  for (let index = 0; index < total && !signal?.aborted; index++) {
    const scheduledMs = startMs + (index * 1000) / rate
    const wait = scheduledMs - now()
    if (wait > 0) await sleep(wait, signal)
    if (signal?.aborted) break
    const slot = { index, scheduledMs: Math.round(scheduledMs) }
    if (running.size >= maxInFlight) {
      dropped++
      onDropped(slot)
      continue
    }
    started++
    const task = run(slot).finally(() => running.delete(task))
    running.add(task)
  }
  await Promise.allSettled(running)
  return { started, dropped }
}

/** @param {number} ms @param {AbortSignal} [signal] */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve(undefined)
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
