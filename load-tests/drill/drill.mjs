#!/usr/bin/env node
// drill: a failover drill through the API. Load (Node engine, or your own k6), a fault on the
// primary, the heal, convergence; then every acknowledged write is checked against the database
// (lost = 0, duplicated = 0) and the figures, report and timeline picture go to bench/results/.
//
// Steps: 1. validate every option, the inventory and the engine (exit 2 on bad input, nothing touched)
//        2. ensure the cluster and the API are up (a lab inventory's lab and API are brought up
//           when absent; a real cluster's never are); --profile: bring-up applies it (only what differs)
//        3. each scenario in turn (run-drill.mjs), one report each; --scenario all: a table at the end
// Exit: 0 every drill passed; 1 a drill failed (a lost or duplicated write, two primaries, no
// convergence) or could not run; 2 bad input; 130 interrupted (every injected fault healed first).
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'
import { $ } from 'zx'
import { InputError, PROFILE_NAMES, ensureRoot, exitOn, parseOptions } from '@pg-ha/deploy/cluster'
import { ENGINE_NAMES, ENGINES } from '../engine/index.mjs'
import { resolveSettings } from '../lib/scenario.js'
import { renderDrillTable } from '../report/index.mjs'
import { openFaultKit } from './fault-kit.mjs'
import { runDrill } from './run-drill.mjs'
import { SCENARIOS, SCENARIO_NAMES } from './scenarios.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const deployScripts = path.join(repoRoot, 'deploy/scripts')
const USAGE = `usage: npm run drill -- --scenario <${SCENARIO_NAMES.join('|')}|all>[,...] [options]
  --profile <${PROFILE_NAMES.join('|')}>  the cluster's failover profile, applied with bring-up (only what differs); default: left as it is
  --engine <${ENGINE_NAMES.join('|')}>       node (default): no k6 needed; k6: your own k6 on PATH runs load-tests/failover.js
  --rate <n>                 logical writes per second (default 50); --read-rate <n> (default 10)
  --max-in-flight <n>        writes in flight at most (default 400); one due while that many are running is dropped, and counted
  --duration <s>             the load lasts at least this long (default 60), and until the cluster has converged
  --fault-at <s>             seconds of load before the fault (default 10)
  --heal-after <s>           seconds from the fault to the heal (default 20; after a promotion, no sooner than 5 s after it)
  --after <s>                seconds of load after convergence (default 5)
  --inventory <file>         the cluster (default deploy/inventory/lab.yml, the lab of npm run lab)
  --env-file <file>          where DATABASE_URL is (default .env); --api-url <url> (default http://127.0.0.1:3000)
  --results-dir <dir>        default bench/results
  --yes                      needed for a cluster over ssh: a drill disturbs a real cluster`

const log = (/** @type {string} */ line) => process.stderr.write(`drill: ${line}\n`)

/** @param {string | undefined} text @param {string} flag @param {number} fallback @param {{min: number, max: number}} bounds */
function seconds(text, flag, fallback, { min, max }) {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text) || value < min || value > max)
    throw new InputError(`${flag} "${text}" must be a number of seconds from ${min} to ${max}`)
  return value
}

async function main() {
  const { values: args } = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: {
      scenario: { type: 'string' },
      profile: { type: 'string' },
      engine: { type: 'string' },
      rate: { type: 'string' },
      'read-rate': { type: 'string' },
      'max-in-flight': { type: 'string' },
      duration: { type: 'string' },
      'fault-at': { type: 'string' },
      'heal-after': { type: 'string' },
      after: { type: 'string' },
      inventory: { type: 'string' },
      'env-file': { type: 'string' },
      'api-url': { type: 'string' },
      'results-dir': { type: 'string' },
      yes: { type: 'boolean' },
    },
  })
  if (args.scenario === undefined)
    throw new InputError(`--scenario is required (one of ${SCENARIO_NAMES.join(', ')}, a comma-separated list of them, or all)`)
  const scenarios = args.scenario === 'all' ? SCENARIO_NAMES : String(args.scenario).split(',')
  const unknown = scenarios.find((name) => !SCENARIOS.has(name))
  if (unknown !== undefined)
    throw new InputError(`--scenario "${unknown}" is not a scenario (${SCENARIO_NAMES.join(', ')}, a comma-separated list of them, or all)`)
  if (args.profile !== undefined && !PROFILE_NAMES.includes(args.profile))
    throw new InputError(`--profile "${args.profile}" is not a failover profile (${PROFILE_NAMES.join(', ')})`)
  const engineName = args.engine ?? 'node'
  const engine = ENGINES.get(engineName)
  if (!engine) throw new InputError(`--engine "${engineName}" is not an engine (${ENGINE_NAMES.join(', ')})`)
  const duration = seconds(args.duration, '--duration', 60, { min: 1, max: 3600 })
  const timing = {
    minDurationS: duration,
    faultAtS: seconds(args['fault-at'], '--fault-at', 10, { min: 1, max: 600 }),
    healAfterS: seconds(args['heal-after'], '--heal-after', 20, { min: 0, max: 1800 }),
    afterS: seconds(args.after, '--after', 5, { min: 0, max: 600 }),
  }
  const apiUrl = args['api-url'] ?? 'http://127.0.0.1:3000'
  let settings
  try {
    // The Node engine runs until the drill stops it; k6 runs its DURATION, long enough to converge.
    const loadS = engine.stopsOnSignal ? 3600 : Math.max(duration, timing.faultAtS + timing.healAfterS + 120)
    settings = resolveSettings({
      BASE_URL: apiUrl,
      RATE: args.rate,
      READ_RATE: args['read-rate'],
      MAX_IN_FLIGHT: args['max-in-flight'],
      DURATION: String(loadS),
      FAULT_AT: String(timing.faultAtS),
    })
  } catch (error) {
    const err = /** @type {Error & {setting?: string}} */ (error)
    const flag =
      { BASE_URL: '--api-url', RATE: '--rate', READ_RATE: '--read-rate', MAX_IN_FLIGHT: '--max-in-flight' }[err.setting ?? ''] ??
      err.setting
    throw new InputError(`${flag}${err.message.slice(String(err.setting).length)}`)
  }
  engine.ensureAvailable()
  const inventoryFile = path.resolve(args.inventory ?? path.join(repoRoot, 'deploy/inventory/lab.yml'))
  const envFile = path.resolve(args['env-file'] ?? path.join(repoRoot, '.env'))
  const kit = await openFaultKit(inventoryFile)
  const transport = kit.inventory.transport
  const refused = scenarios.filter((name) => !SCENARIOS.get(name)?.transports.includes(transport))
  if (args.scenario !== 'all' && refused.length > 0) {
    throw new InputError(
      `--scenario ${refused[0]} needs the lab (${SCENARIOS.get(refused[0] ?? '')?.fault}); over transport ${transport} the drills are: ` +
        SCENARIO_NAMES.filter((n) => SCENARIOS.get(n)?.transports.includes(transport)).join(', '),
    )
  }
  if (transport !== 'netns' && !args.yes)
    throw new InputError(
      `the inventory's cluster is reached over ${transport}: a drill disturbs a real cluster (faults on its primary); add --yes to go on`,
    )
  if (transport === 'netns') ensureRoot('drill')
  const profile = args.profile ?? kit.inventory.profile

  await ensureClusterAndApi({ kit, inventoryFile, envFile, apiUrl, profile: args.profile })
  const databaseUrl = await databaseUrlFrom(envFile)

  const controller = new AbortController()
  let interrupts = 0
  const onSignal = (/** @type {string} */ signal) => {
    if (++interrupts > 1) {
      log(`${signal} again: exiting without healing; check the lab (npm run lab -- status) or the cluster (status.mjs)`)
      process.exit(130)
    }
    log(`${signal}: healing every injected fault, then stopping (again to exit at once)`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  const reports = []
  const resultsDir = path.resolve(args['results-dir'] ?? path.join(repoRoot, 'bench/results'))
  try {
    for (const name of scenarios) {
      if (refused.includes(name)) {
        log(`${name}: skipped, it needs the lab (transport ${transport})`)
        continue
      }
      const { report, files } = await runDrill({
        kit,
        scenario: name,
        engine: engineName,
        profile,
        settings: { ...settings, runId: `${settings.runId}${reports.length}` },
        databaseUrl,
        timing,
        resultsDir,
        log,
        abortSignal: controller.signal,
      })
      reports.push(report)
      const v = report.verification
      log(
        `${name}: ${report.passed ? 'PASSED' : `FAILED: ${report.failures.join('; ')}`}; outage ${report.figures.write_outage_s} s, ` +
          `${v.acknowledged} acknowledged, ${v.lost} lost, ${v.duplicated} duplicated; ${path.relative(process.cwd(), files.markdown)}`,
      )
    }
  } finally {
    await kit.close()
    // The drills that ran, also when a later one could not.
    if (reports.length > 0) process.stdout.write(renderDrillTable(reports))
  }
  return reports.every((r) => r.passed) ? 0 : 1
}

/**
 * The cluster must answer and the API be ready. A lab inventory whose lab is absent gets
 * `lab-up` (cluster and API); a loopback API that is down is started (api-service). A real
 * cluster is never brought up: that is bring-up's job.
 * @param {{kit: import('./fault-kit.mjs').FaultKit, inventoryFile: string, envFile: string, apiUrl: string, profile: string | undefined}} options
 */
async function ensureClusterAndApi({ kit, inventoryFile, envFile, apiUrl, profile }) {
  const port = new URL(apiUrl).port || '80'
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(apiUrl).hostname)
  if (kit.lab && !existsSync(kit.lab.dir)) {
    log(`lab ${kit.lab.name} is not up: npm run lab (lab-up.mjs) first`)
    await $({
      stdio: ['ignore', 2, 'inherit'],
    })`node ${path.join(deployScripts, 'lab-up.mjs')} --inventory ${inventoryFile} --env-output ${envFile} --api-port ${port} ${loopback ? [] : ['--no-api']}`
  }
  const nodes = await kit.nodes().catch((/** @type {Error} */ error) => {
    throw new InputError(`no cluster reachable through ${path.relative(process.cwd(), inventoryFile)}: ${error.message.split('\n')[0]}`)
  })
  if (nodes.length === 0)
    throw new InputError(
      `the monitor of ${path.relative(process.cwd(), inventoryFile)} has no node in formation ${kit.inventory.formation}: bring the cluster up first`,
    )
  let restartApi = false
  if (profile !== undefined) {
    // The inventory names a profile, but an earlier drill may have applied another: bring-up
    // compares the cluster's settings and changes only what differs (nothing when it has it).
    log(`--profile ${profile}: bring-up -e failover_profile=${profile} (changes only what differs)`)
    const envBefore = await fs.readFile(envFile, 'utf8').catch(() => '')
    await $({
      stdio: ['ignore', 2, 'inherit'],
    })`node ${path.join(deployScripts, 'bringup.mjs')} --inventory ${inventoryFile} -e failover_profile=${profile} --env-output ${envFile}`
    // The API reads its retry budget (DB_RETRY_BUDGET_MS) from the env file at start.
    restartApi = loopback && (await fs.readFile(envFile, 'utf8').catch(() => '')) !== envBefore
  }
  const ready = async () => (await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => null))?.ok === true
  if (restartApi || !(await ready())) {
    if (!loopback) throw new InputError(`the API at ${apiUrl} is not ready (GET /readyz): start it first`)
    log(`${restartApi ? 'restarting' : 'starting'} the API on port ${port} (api-service.mjs, env ${path.relative(process.cwd(), envFile)})`)
    await $({
      stdio: ['ignore', 2, 'inherit'],
    })`node ${path.join(deployScripts, 'api-service.mjs')} start --env-file ${envFile} --port ${port}`
  }
}

/** @param {string} envFile */
async function databaseUrlFrom(envFile) {
  const text = await fs.readFile(envFile, 'utf8').catch(() => null)
  if (text === null)
    throw new InputError(`${envFile} does not exist: it holds the application DSN the drill verifies through (bring-up writes it)`)
  const url = parseEnv(text).DATABASE_URL
  if (!url) throw new InputError(`${envFile} has no DATABASE_URL`)
  return url
}

try {
  process.exitCode = await main()
} catch (error) {
  const message = error instanceof Error ? error.message : String(error)
  if (!message.startsWith('interrupted')) exitOn(error, { name: 'drill', firstLine: true })
  log(message === 'interrupted' ? 'interrupted; every injected fault was healed' : (message.split('\n')[0] ?? message))
  process.exitCode = 130
}
