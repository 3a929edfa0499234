// The drill's load from the user's own k6 (`--engine k6`): `k6 run --out json=...` on
// failover.js with the drill's settings as -e variables, its points turned into attempt records.
// The project never installs or ships k6 (AGPL): it must be on PATH already.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { recordsFromK6Json } from './k6-json.mjs'

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../failover.js')

/** Throws, saying what to do, when no k6 is on PATH. */
export function ensureK6() {
  const out = spawnSync('k6', ['version'], { encoding: 'utf8' })
  if (out.error || out.status !== 0) {
    throw Object.assign(new Error('--engine k6: no k6 on PATH. Install k6 yourself (this project does not ship it) or use --engine node'), {
      code: 'INPUT_INVALID',
    })
  }
  return out.stdout.trim()
}

/**
 * @param {import('../lib/scenario.js').Settings} settings
 * @param {{write(record: import('./records.mjs').AttemptRecord): void}} records
 * @param {{workDir: string, stopSignal?: AbortSignal, abortSignal?: AbortSignal}} options k6 runs its
 *   whole DURATION: stopSignal is not honoured; abortSignal stops k6 (SIGINT, as Ctrl-C would)
 * @returns {Promise<import('./node-engine.mjs').EngineRun>}
 */
export async function runK6Engine(settings, records, { workDir, abortSignal }) {
  const out = path.join(workDir, 'k6-points.json')
  const vars = {
    BASE_URL: settings.baseUrl,
    RATE: settings.rate,
    READ_RATE: settings.readRate,
    DURATION: settings.durationS,
    REQUEST_TIMEOUT_MS: settings.requestTimeoutMs,
    RETRY_BUDGET_MS: settings.retryBudgetMs,
    MAX_IN_FLIGHT: settings.maxInFlight,
    RUN_ID: settings.runId,
    FAULT_AT: settings.faultAtS,
    HEAL_AT: settings.healAtS,
    SUMMARY_JSON: path.join(workDir, 'k6-summary.json'),
  }
  const args = [
    'run',
    '--quiet',
    '--out',
    `json=${out}`,
    ...Object.entries(vars)
      .filter(([, v]) => v !== null)
      .flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    script,
  ]
  const child = spawn('k6', args, { stdio: ['ignore', 'inherit', 'inherit'] })
  const stop = () => child.kill('SIGINT')
  abortSignal?.addEventListener('abort', stop, { once: true })
  const code = await new Promise((resolve) => child.on('close', resolve))
  abortSignal?.removeEventListener('abort', stop)
  // 99: thresholds failed; the drill judges the run itself from the records.
  if (code !== 0 && code !== 99) throw new Error(`k6 exited ${code}`)
  const converted = await recordsFromK6Json(out)
  for (const record of converted) records.write(record)
  await fs.rm(out, { force: true })
  const writes = converted.filter((r) => r.kind === 'write')
  return {
    writesStarted: new Set(writes.filter((r) => r.outcome !== 'dropped').map((r) => r.logical_id)).size,
    writesAcked: writes.filter((r) => r.outcome === 'acked').length,
    writesDropped: writes.filter((r) => r.outcome === 'dropped').length,
    readsStarted: converted.filter((r) => r.kind === 'read').length,
    readsDropped: 0,
  }
}
