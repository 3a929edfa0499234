// One drill: load through the API, a fault on the primary at a set time, the heal, convergence,
// then verification and the report. Whatever happens (failure, Ctrl-C), every fault injected is
// healed and the probes and load are stopped before this returns or throws.
//
// Steps: 1. the cluster is healthy; the primary moved off the monitor's host (a fault there would
//           take the monitor too) — before the load starts
//        2. direct write probes on every node, the load (engine) with its records
//        3. at --fault-at: inject; for a failover, wait for the monitor to promote another node
//        4. heal --heal-after seconds after the fault (and no sooner than 5 s after a promotion)
//        5. wait until the cluster is healthy with every node back, then --after seconds more
//        6. stop the load and the probes; verify the writes against the database; figures; report
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createPool } from '@pg-ha/db-ha'
import { assessCluster, roleOf, waitFor } from '@pg-ha/deploy/cluster'
import { overlapFrom, startWriteProbes } from '@pg-ha/deploy/testing'
import { ENGINES } from '../engine/index.mjs'
import { LIMITS } from '../lib/scenario.js'
import { openRecordWriter, readRecords } from '../engine/records.mjs'
import { renderDrillMarkdown, renderTimelineSvg } from '../report/index.mjs'
import { drillFigures } from './figures.mjs'
import { healFault, SCENARIOS } from './scenarios.mjs'
import { storedWrites, unverified, verifyWrites } from './verify.mjs'

/**
 * @typedef {object} DrillOptions
 * @property {import('./fault-kit.mjs').FaultKit} kit
 * @property {string} scenario a name in SCENARIOS
 * @property {string} engine a name in ENGINES
 * @property {string} profile the cluster's failover profile, for the report
 * @property {import('../lib/scenario.js').Settings} settings the load's (the Node engine runs until stopped, k6 its whole durationS)
 * @property {string} databaseUrl the application DSN, to verify and to probe
 * @property {{minDurationS: number, faultAtS: number, healAfterS: number, afterS: number}} timing
 * @property {string} resultsDir
 * @property {(line: string) => void} log
 * @property {AbortSignal} [abortSignal] Ctrl-C: heal, stop, and throw
 */

const CONVERGE_TIMEOUT_MS = 300_000
const PROMOTION_TIMEOUT_MS = 240_000

/** @param {DrillOptions} options */
export async function runDrill({
  kit,
  scenario: scenarioName,
  engine: engineName,
  profile,
  settings,
  databaseUrl,
  timing,
  resultsDir,
  log,
  abortSignal,
}) {
  const scenario = /** @type {import('./scenarios.mjs').Scenario} */ (SCENARIOS.get(scenarioName))
  const engine = /** @type {import('../engine/index.mjs').Engine} */ (ENGINES.get(engineName))
  const startedAt = new Date()
  const stamp = `${scenarioName}-${startedAt.toISOString().replace(/[:.]/g, '-')}`
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-drill-'))
  const sleep = (/** @type {number} */ ms) =>
    new Promise((resolve, reject) => {
      if (abortSignal?.aborted) return reject(new Error('interrupted'))
      const interrupted = () => {
        clearTimeout(timer)
        reject(new Error('interrupted'))
      }
      const timer = setTimeout(
        () => {
          abortSignal?.removeEventListener('abort', interrupted)
          resolve(undefined)
        },
        Math.max(0, ms),
      )
      abortSignal?.addEventListener('abort', interrupted, { once: true })
    })
  const waitUntil = (/** @type {() => Promise<any>} */ check, /** @type {number} */ timeoutMs, /** @type {string} */ what) =>
    waitFor(check, { timeoutMs, intervalMs: 250, what, signal: abortSignal })
  const healthy = async () => {
    const nodes = await kit.nodes().catch(() => null)
    return nodes && assessCluster(nodes, kit.inventory.nodes.length).healthy ? nodes : null
  }

  log(`step 1: ${scenarioName}: the cluster before the drill`)
  await waitUntil(healthy, 60_000, 'a healthy cluster before the drill')
  await movePrimaryOffMonitorHost(kit, log)
  const before = /** @type {import('./fault-kit.mjs').MonitorNode} */ (await kit.primary())
  const oldPrimaryAddress = kit.hostOf(before).address

  /** @type {import('./scenarios.mjs').FaultState} */
  const fault = { target: before.name, undo: [] }
  /** @type {import('./figures.mjs').Marks} */
  const marks = { load_start_ms: Date.now(), fault_ms: 0, promotion_ms: null, heal_ms: null, converged_ms: null, load_end_ms: 0 }
  const recordsFile = path.join(workDir, 'records.jsonl')
  const records = await openRecordWriter(recordsFile)
  const stop = new AbortController()
  log(`step 2: write probes on every node; load (${engineName}) at ${settings.rate} writes/s`)
  const probes = await startWriteProbes({ databaseUrl, addresses: kit.inventory.nodes.map((n) => n.address) })
  /** @type {Promise<import('../engine/node-engine.mjs').EngineRun> | undefined} */
  let load
  /** @type {Map<string, number[]> | undefined} */
  let probeTimes
  let converged = false
  /** @type {string | null} */
  let healFailure = null
  /** @type {string[]} */
  const failures = []
  try {
    marks.load_start_ms = Date.now()
    load = engine.run(settings, records, { workDir, stopSignal: stop.signal, abortSignal })
    load.catch(() => {})
    await sleep(timing.faultAtS * 1000)

    log(`step 3: inject: ${scenario.fault}`)
    marks.fault_ms = Date.now()
    await scenario.inject(kit, fault)
    // From the fault's first effect, not from when inject() began looking for its target.
    marks.fault_ms = fault.hitAt ?? marks.fault_ms
    log(`  injected on ${fault.target}`)
    if (scenario.failover) {
      const promoted = await waitUntil(
        async () => {
          const now = await kit.primary().catch(() => null)
          return now && now.name !== before.name ? now : null
        },
        PROMOTION_TIMEOUT_MS,
        `another node promoted after the ${scenarioName}`,
      ).catch((/** @type {Error} */ error) => {
        if (abortSignal?.aborted) throw error
        failures.push(error.message)
        return null
      })
      if (promoted) log(`  ${promoted.name} promoted, ${((Date.now() - marks.fault_ms) / 1000).toFixed(1)} s after the fault`)
      marks.promotion_ms = promoted ? Date.now() : null
    }

    const healAt = Math.max(marks.fault_ms + timing.healAfterS * 1000, (marks.promotion_ms ?? 0) + 5000)
    await sleep(healAt - Date.now())
    log('step 4: heal')
    marks.heal_ms = Date.now()
    await healFault(fault)

    log('step 5: wait for the cluster to converge')
    const settled = await waitUntil(
      async () => {
        const nodes = await healthy()
        // After a failover, converged means the old primary is a healthy secondary again.
        return nodes && (!scenario.failover || nodes.some((n) => n.name === before.name && roleOf(n) === 'secondary')) ? nodes : null
      },
      CONVERGE_TIMEOUT_MS,
      'the cluster to converge after the heal',
    ).catch((/** @type {Error} */ error) => {
      if (abortSignal?.aborted) throw error
      failures.push(error.message)
      return null
    })
    if (settled) {
      converged = true
      marks.converged_ms = Date.now()
      log(`  converged ${((marks.converged_ms - /** @type {number} */ (marks.heal_ms)) / 1000).toFixed(1)} s after the heal`)
    }
    await sleep(Math.max(timing.afterS * 1000, marks.load_start_ms + timing.minDurationS * 1000 - Date.now()))
  } catch (error) {
    // Ctrl-C: whatever was waiting gives up; the faults are healed below, then 'interrupted' is thrown.
    if (!abortSignal?.aborted) throw error
  } finally {
    // Heal first: a drill must never leave a fault behind, whatever failed.
    await healFault(fault).catch((/** @type {Error} */ error) => {
      healFailure = error.message
      log(`heal failed: ${error.message}`)
    })
    stop.abort()
    const run = await load?.catch((/** @type {Error} */ error) => {
      failures.push(`load: ${error.message}`)
      return null
    })
    marks.load_end_ms = Date.now()
    probeTimes = await probes.stop()
    await records.close()
    if (run) log(`step 6: load stopped: ${run.writesStarted} writes started, ${run.writesAcked} acknowledged, ${run.writesDropped} dropped`)
  }
  if (abortSignal?.aborted) throw new Error(healFailure ? `interrupted, and healing failed: ${healFailure}` : 'interrupted')
  if (healFailure) failures.push(`healing failed: ${healFailure}`)

  const all = await readRecords(recordsFile)
  const pool = createPool(databaseUrl)
  /** @type {import('./verify.mjs').Verification} */
  let verification
  try {
    // A cluster that has not converged may still find a primary in a while.
    const stored = await waitFor(() => storedWrites(pool, settings.runId).catch(() => null), {
      timeoutMs: 120_000,
      intervalMs: 2000,
      what: 'a primary to read the stored writes from',
    })
    verification = verifyWrites(all, stored)
  } catch (error) {
    failures.push(`could not read the stored writes to verify them: ${/** @type {Error} */ (error).message}`)
    verification = unverified(all)
  } finally {
    await pool.end()
  }
  const promotionEvent = scenario.failover ? await promotionFromEvents(kit, before.name, marks.fault_ms) : null
  if (promotionEvent !== null) marks.promotion_ms = promotionEvent
  const probeFigures = scenario.failover
    ? probeOverlap(probeTimes, oldPrimaryAddress, marks.fault_ms)
    : { new_primary_first_write_ms: null, overlap_ms: null }
  const figures = drillFigures(all, marks, probeFigures)

  if (verification.lost) failures.push(`${verification.lost} acknowledged writes lost`)
  if (verification.duplicated) failures.push(`${verification.duplicated} logical writes stored more than once`)
  if (verification.changed > 0)
    failures.push(`${verification.changed} writes acknowledged with an order id the database does not hold for them`)
  if (verification.unknown_stored > 0) failures.push(`${verification.unknown_stored} rows of this run that no attempt made`)
  if (probeFigures.overlap_ms !== null && probeFigures.overlap_ms > 0)
    failures.push(`two primaries took writes for ${(probeFigures.overlap_ms / 1000).toFixed(1)} s`)
  if (!converged) failures.push('the cluster did not converge after the heal')
  const ackTimes = all.filter((r) => r.kind === 'write' && r.outcome === 'acked').map((r) => Number(r.end_ms))
  if (!ackTimes.some((t) => t < marks.fault_ms))
    failures.push('no write was acknowledged before the fault: the API or the cluster was not taking writes')
  else if (marks.converged_ms !== null && !ackTimes.some((t) => t > /** @type {number} */ (marks.converged_ms)))
    failures.push('writes did not resume: none was acknowledged after the cluster converged')
  const started = new Set(all.filter((r) => r.kind === 'write' && r.outcome !== 'dropped').map((r) => r.logical_id)).size
  const successRate = started === 0 ? 0 : verification.acknowledged / started
  if (successRate < LIMITS.minWriteSuccessRate)
    failures.push(
      `${verification.acknowledged} of ${started} writes started were acknowledged within their retry budget (${(successRate * 100).toFixed(1)} %, below ${LIMITS.minWriteSuccessRate * 100} %)`,
    )

  const picture = `drill-${stamp}.svg`
  /** @type {import('../report/index.mjs').TimelineMark[]} */
  const timelineMarks = [
    { at_ms: marks.fault_ms, label: `fault: ${scenarioName}` },
    ...(marks.promotion_ms ? [{ at_ms: marks.promotion_ms, label: 'promotion' }] : []),
    ...(marks.heal_ms ? [{ at_ms: marks.heal_ms, label: 'heal' }] : []),
    ...(marks.converged_ms ? [{ at_ms: marks.converged_ms, label: 'converged' }] : []),
  ]
  const report = {
    scenario: scenarioName,
    profile,
    engine: engineName,
    started_at: startedAt.toISOString(),
    settings: {
      rate: settings.rate,
      readRate: settings.readRate,
      durationS: Math.round((marks.load_end_ms - marks.load_start_ms) / 1000),
      requestTimeoutMs: settings.requestTimeoutMs,
      retryBudgetMs: settings.retryBudgetMs,
      maxInFlight: settings.maxInFlight,
      runId: settings.runId,
      ...timing,
    },
    fault: { target: fault.target, description: scenario.fault },
    figures,
    verification,
    marks: timelineMarks,
    picture,
    passed: failures.length === 0,
    failures,
  }
  await fs.mkdir(resultsDir, { recursive: true })
  const base = path.join(resultsDir, `drill-${stamp}`)
  await fs.writeFile(`${base}.json`, JSON.stringify(report, null, 2) + '\n')
  await fs.writeFile(`${base}.md`, renderDrillMarkdown(report))
  await fs.writeFile(
    path.join(resultsDir, picture),
    renderTimelineSvg({ records: all, marks: timelineMarks, title: `${scenarioName} (${profile} profile, ${engineName} engine)` }),
  )
  await fs.rename(recordsFile, `${base}.records.jsonl`).catch(() => fs.copyFile(recordsFile, `${base}.records.jsonl`))
  await fs.rm(workDir, { recursive: true, force: true })
  return {
    report,
    files: { json: `${base}.json`, markdown: `${base}.md`, picture: path.join(resultsDir, picture), records: `${base}.records.jsonl` },
  }
}

/**
 * The monitor's host also runs a node in the users' layout: a fault on its VM would take the
 * monitor too, which is a different drill (monitor-loss). Move the primary to the best other node.
 * @param {import('./fault-kit.mjs').FaultKit} kit @param {(line: string) => void} log
 */
async function movePrimaryOffMonitorHost(kit, log) {
  const primary = await kit.primary()
  if (!primary || kit.hostOf(primary).address !== kit.inventory.monitor.address) return
  const target = (await kit.nodes()).filter((n) => n.name !== primary.name && kit.hostOf(n).address !== kit.inventory.monitor.address)[0]
  if (!target) return
  log(`  the primary (${primary.name}) shares the monitor's host: switching over to ${target.name} first`)
  await kit.script('switchover.mjs', ['--to', target.name])
}

/**
 * When the monitor began promoting another node after the fault: its first event assigning one
 * prepare_promotion (or a later promotion state). Its Postgres is promoted in stop_replication,
 * before wait_primary, so wait_primary would come after the first writes there.
 * @param {import('./fault-kit.mjs').FaultKit} kit @param {string} oldPrimary @param {number} faultMs
 * @returns {Promise<number | null>}
 */
async function promotionFromEvents(kit, oldPrimary, faultMs) {
  const rows = await kit.runtime
    .sqlJson(
      kit.inventory.monitor,
      `
    select (extract(epoch from eventtime) * 1000)::float8 as at_ms from pgautofailover.event
     where formationid = '${kit.inventory.formation}' and nodename <> '${oldPrimary.replaceAll("'", "''")}'
       and goalstate in ('prepare_promotion', 'stop_replication', 'wait_primary', 'primary') and eventtime >= to_timestamp(${faultMs / 1000})
     order by eventtime limit 1`,
      { db: 'pg_auto_failover' },
    )
    .catch(() => [])
  return rows[0]?.at_ms ? Math.round(rows[0].at_ms) : null
}

/** @param {Map<string, number[]> | undefined} times @param {string} oldPrimary @param {number} cutAt */
function probeOverlap(times, oldPrimary, cutAt) {
  if (!times) return { new_primary_first_write_ms: null, overlap_ms: null }
  const { newFirstMs, overlapMs } = overlapFrom(times, { oldPrimary, cutAt })
  return Number.isFinite(newFirstMs)
    ? { new_primary_first_write_ms: cutAt + newFirstMs, overlap_ms: overlapMs }
    : { new_primary_first_write_ms: null, overlap_ms: null }
}
