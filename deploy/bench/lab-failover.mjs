#!/usr/bin/env node
// lab-failover benchmark: bring-up time, write outage and rejoin time per failover profile,
// measured with libpq itself (psql through the application DSN) on a lab of its own.
//
// Steps, for each profile: 1. lab up + bring-up (timed)
//                          2. for each scenario: a writer inserts through the DSN in a loop
//                             (one psql per write, as a reconnecting client); the fault hits the
//                             primary; the outage is the longest gap between acknowledged writes;
//                             then heal/restart and time until the cluster is healthy again
//                          3. every acknowledged write is in the database exactly once, or the run fails
//                             (logical ids in a column without a unique index, so a duplicate shows)
//                          partition and isolate also run direct write probes on every node: the
//                          overlap is the old primary's last accepted write minus the new one's first
//                          4. lab down (also on failure)
// Figures go to stdout and bench/results/lab-failover-<timestamp>.json.
// usage: lab-failover.mjs [--profiles default,fast] [--scenarios switchover,power-off,partition,isolate] [--runtime native|docker]
// --runtime docker: every VM runs a dockerd with the image npm run image builds (lab-docker.yml).
import path from 'node:path'
import { writeBenchResults } from './bench-results.mjs'
import { FAULTS, injectFault } from '../lab/faults.mjs'
import { loadClusterContext } from '../scripts/lib/cluster-context.mjs'
import { parseOptions } from '../lib/cli-options.mjs'
import { errorMessage } from '../lib/error-message.mjs'
import { assessCluster, roleOf } from '../scripts/lib/cluster-health.mjs'
import { performSwitchover } from '../scripts/lib/day2.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { PROFILE_NAMES } from '../scripts/lib/failover-profiles.mjs'
import { waitFor } from '../lib/wait-for.mjs'
import { psql, startLabCluster, stopLabCluster, vmOf } from '../test/support/lab-cluster.mjs'
import { overlapFrom, startWriteProbes } from '../test/support/write-probes.mjs'

const SCENARIOS = ['switchover', 'power-off', 'partition', 'isolate']
const LAB = { name: 'pghbench', subnet: '10.213.44.0/24' }

/** @typedef {import('../test/support/lab-cluster.mjs').LabCluster} LabCluster */
/** @typedef {import('../scripts/lib/index.mjs').MonitorNode} MonitorNode */
/** An acknowledged write: its logical id, when (ms since epoch), how long it took. @typedef {{id: number, at: number, ms: number}} Ack */
/**
 * @typedef {object} ScenarioFigures one scenario's figures (seconds, milliseconds, counts of writes)
 * @property {string} scenario
 * @property {string} old_primary
 * @property {string | undefined} new_primary
 * @property {number} write_outage_s
 * @property {number | null} write_ms_p50_before
 * @property {number | null} write_ms_p50_degraded
 * @property {number | null} rejoin_s
 * @property {number | null} old_primary_last_write_s
 * @property {number | null} new_primary_first_write_s
 * @property {number | null} overlap_s
 * @property {number} acknowledged
 * @property {number} lost
 * @property {number} duplicated
 */
/** @typedef {{profile: string, bringup_s: number, scenarios: ScenarioFigures[]}} ProfileRun */

const RUNTIMES = ['native', 'docker']
const USAGE = `usage: lab-failover.mjs [--profiles ${PROFILE_NAMES.join(',')}] [--scenarios ${SCENARIOS.join(',')}] [--runtime ${RUNTIMES.join('|')}]`
let args
try {
  args = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: { profiles: { type: 'string' }, scenarios: { type: 'string' }, runtime: { type: 'string' } },
  }).values
} catch (error) {
  process.stderr.write(`lab-failover: ${errorMessage(error)}\n`)
  process.exit(2)
}
const profiles = (args.profiles ?? PROFILE_NAMES.join(',')).split(',')
const scenarios = (args.scenarios ?? SCENARIOS.join(',')).split(',')
const runtime = /** @type {import('../test/support/lab-cluster.mjs').LabRuntime} */ (args.runtime ?? 'native')
/** @type {Array<[string[], string[], string]>} */
const lists = [
  [profiles, PROFILE_NAMES, 'profiles'],
  [scenarios, SCENARIOS, 'scenarios'],
  [[runtime], RUNTIMES, 'runtime'],
]
for (const [list, known, flag] of lists) {
  const bad = list.find((item) => !known.includes(item))
  if (bad) {
    process.stderr.write(`lab-failover: --${flag}: unknown "${bad}" (known: ${known.join(', ')})\n`)
    process.exit(2)
  }
}
ensureRoot('lab-failover')

/** @param {string} line */
const log = (line) => process.stderr.write(`lab-failover: ${line}\n`)
/** @type {{started_at: string, runtime: string, host: {cpus: number}, runs: ProfileRun[], finished_at?: string}} */
const results = { started_at: new Date().toISOString(), runtime, host: { cpus: (await import('node:os')).cpus().length }, runs: [] }
/** @type {LabCluster | undefined} */
let cluster
// Set on failure so a running writer loop stops and the process can exit.
let aborted = false

try {
  for (const profile of profiles) {
    log(`profile ${profile}: lab up + bring-up (runtime ${runtime})`)
    cluster = await startLabCluster({ ...LAB, profile, runtime })
    const ctx = await loadClusterContext(cluster.inventory.file)
    /** @type {ProfileRun} */
    const run = { profile, bringup_s: round(cluster.bringupMs / 1000), scenarios: [] }
    results.runs.push(run)
    // logical_id without a unique index: a write stored twice is two rows.
    await psql(
      cluster.databaseUrl,
      'create table bench_writes(seq bigserial primary key, logical_id bigint not null, at timestamptz default clock_timestamp())',
    )
    let nextId = 0
    for (const scenario of scenarios) {
      /** @type {MonitorNode[]} */
      const nodes = await ctx.runtime.clusterNodes()
      const primary = nodes.find((n) => roleOf(n) === 'primary')
      if (!primary) throw new Error(`${scenario}: the monitor reports no primary before the fault`)
      const vm = vmOf(cluster, primary.host)
      const { databaseUrl } = cluster
      /** @type {Ack[]} */
      const acked = []
      let stop = false
      const writer = (async () => {
        while (!stop && !aborted) {
          const id = ++nextId
          const t0 = Date.now()
          const out = await psql(databaseUrl, `insert into bench_writes(logical_id) values (${id})`, { timeoutMs: 15_000 })
          if (out.ok) acked.push({ id, at: Date.now(), ms: Date.now() - t0 })
          else await new Promise((resolve) => setTimeout(resolve, 50))
        }
      })()
      await waitFor(async () => acked.length >= 20, { timeoutMs: 30_000, what: 'writes before the fault' })
      const probes = ['partition', 'isolate'].includes(scenario)
        ? await startWriteProbes({ databaseUrl: cluster.databaseUrl, addresses: cluster.lab.vms.map((v) => v.address) })
        : null
      const faultAt = Date.now()
      log(`profile ${profile}: ${scenario} of ${primary.name} (${vm})`)
      if (scenario === 'switchover') {
        await performSwitchover(ctx)
      } else {
        await injectFault(cluster.lab, /** @type {'power-off' | 'partition' | 'isolate'} */ (scenario), vm)
      }
      await waitFor(async () => acked.some((w) => w.at > faultAt), { timeoutMs: 180_000, intervalMs: 100, what: 'a write after the fault' })
      // With a host down, libpq pays connect_timeout for it on every new connection: few writes.
      const writesAfter = acked.length
      await waitFor(async () => acked.length >= writesAfter + 5, { timeoutMs: 120_000, what: 'writes after the fault' })
      const afterFault = acked.slice(writesAfter - 1)
      const recoverAt = Date.now()
      const undo = scenario === 'switchover' ? undefined : FAULTS[/** @type {'power-off' | 'partition' | 'isolate'} */ (scenario)].undo
      if (undo) await injectFault(cluster.lab, undo, vm)
      const settled = await waitFor(
        async () => {
          /** @type {MonitorNode[]} */
          const now = await ctx.runtime.clusterNodes()
          return assessCluster(now, ctx.inventory.nodes.length).healthy ? now : null
        },
        { timeoutMs: 240_000, what: 'the cluster to be healthy again' },
      )
      const rejoinMs = Date.now() - recoverAt
      stop = true
      await writer
      const overlap = probes ? overlapFrom(await probes.stop(), { oldPrimary: primary.host, cutAt: faultAt }) : null

      const stored = await psql(
        cluster.databaseUrl,
        `select count(*) || ' ' || count(distinct logical_id) from bench_writes where logical_id = any('{${acked.map((w) => w.id).join(',')}}'::bigint[])`,
      )
      const [found, distinct] = stored.stdout.split(' ').map(Number)
      if (found === undefined || distinct === undefined)
        throw new Error(`${scenario}: counting the stored writes failed: ${stored.stderr || stored.stdout}`)
      // Each acknowledged write and the next one.
      const gaps = acked.flatMap((w, i) => {
        const next = acked[i + 1]
        return next ? [{ gap: next.at - w.at, after: w.at }] : []
      })
      const outage = gaps.filter((g) => g.after >= faultAt - 5000).reduce((max, g) => Math.max(max, g.gap), 0)
      /** @type {ScenarioFigures} */
      const figures = {
        scenario,
        old_primary: primary.name,
        new_primary: settled.find((n) => roleOf(n) === 'primary')?.name,
        write_outage_s: round(outage / 1000),
        // One psql (a new libpq connection) per write, before the fault and while the old primary is still out.
        write_ms_p50_before: median(acked.filter((w) => w.at < faultAt).map((w) => w.ms)),
        write_ms_p50_degraded: median(afterFault.map((w) => w.ms)),
        rejoin_s: scenario === 'switchover' ? null : round(rejoinMs / 1000),
        // Direct probes (partition, isolate): when the old primary last and the new one first took a write.
        old_primary_last_write_s: overlap ? round(overlap.oldLastMs / 1000) : null,
        new_primary_first_write_s: overlap ? round(overlap.newFirstMs / 1000) : null,
        overlap_s: overlap ? round(overlap.overlapMs / 1000) : null,
        acknowledged: acked.length,
        lost: acked.length - distinct,
        duplicated: found - distinct,
      }
      run.scenarios.push(figures)
      log(`  ${JSON.stringify(figures)}`)
      if (figures.lost !== 0 || figures.duplicated !== 0)
        throw new Error(`${scenario}: ${figures.lost} acknowledged writes lost, ${figures.duplicated} duplicated`)
      if (figures.overlap_s !== null && figures.overlap_s > 0)
        throw new Error(`${scenario}: two primaries took writes for ${figures.overlap_s} s`)
    }
    await stopLabCluster(cluster)
    cluster = undefined
  }
} catch (error) {
  aborted = true
  log(`failed: ${errorMessage(error)}`)
  process.exitCode = 1
} finally {
  await stopLabCluster(cluster, LAB)
}

results.finished_at = new Date().toISOString()
const file = await writeBenchResults('lab-failover', results.started_at, results)
process.stdout.write(`runtime ${runtime}\n`)
process.stdout.write('profile   bring-up  scenario     outage   rejoin   write p50 before/degraded  overlap  acked  lost  dup\n')
for (const run of results.runs) {
  for (const s of run.scenarios) {
    process.stdout.write(
      `${run.profile.padEnd(9)} ${`${run.bringup_s}s`.padEnd(9)} ${s.scenario.padEnd(12)} ${`${s.write_outage_s}s`.padEnd(8)} ${(s.rejoin_s === null ? '-' : `${s.rejoin_s}s`).padEnd(8)} ${`${s.write_ms_p50_before} / ${s.write_ms_p50_degraded} ms`.padEnd(26)} ${(s.overlap_s === null ? '-' : `${s.overlap_s}s`).padEnd(8)} ${String(s.acknowledged).padEnd(6)} ${String(s.lost).padEnd(5)} ${s.duplicated}\n`,
    )
  }
}
process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`)

/** @param {number[]} values @returns {number | null} null when there are none */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? null
}

/** To one decimal. @param {number} value */
function round(value) {
  return Math.round(value * 10) / 10
}
