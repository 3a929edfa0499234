#!/usr/bin/env node
// gorm-dead-host benchmark: what a Go/GORM service (pgx underneath) pays for each new connection
// through the kit's DSN when the first host of the DSN is black-holed, on a lab of its own.
//
// Steps: 1. build deploy/bench/gorm-probe (needs Go; modules from the Go module proxy)
//        2. lab up + bring-up (fast profile); node1, the first host of the DSN, is the primary
//        3. baseline: --writes writes, each on a new GORM connection
//        4. vm1's link down (black-holed, as a powered-off VM looks to a client); wait until the
//           monitor has another primary; the same writes again
//        5. lab down (also on failure)
// Figures go to stdout and bench/results/gorm-dead-host-<timestamp>.json.
// usage: gorm-dead-host.mjs [--writes 5]
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeBenchResults } from './bench-results.mjs'
import { $ } from 'zx'
import { injectFault } from '../lab/faults.mjs'
import { parseOptions } from '../lib/cli-options.mjs'
import { errorMessage } from '../lib/error-message.mjs'
import { loadClusterContext } from '../scripts/lib/cluster-context.mjs'
import { roleOf } from '../scripts/lib/cluster-health.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { waitFor } from '../lib/wait-for.mjs'
import { psql, startLabCluster, stopLabCluster } from '../test/support/lab-cluster.mjs'

const LAB = { name: 'pghgo', subnet: '10.213.63.0/24', profile: 'fast' }
const here = path.dirname(fileURLToPath(import.meta.url))
const USAGE = 'usage: gorm-dead-host.mjs [--writes <n>]'

/** @typedef {import('../test/support/lab-cluster.mjs').LabCluster} LabCluster */
/** @typedef {import('../scripts/lib/index.mjs').MonitorNode} MonitorNode */

let args
try {
  args = parseOptions(process.argv.slice(2), { usage: USAGE, options: { writes: { type: 'string' } } }).values
} catch (error) {
  process.stderr.write(`gorm-dead-host: ${errorMessage(error)}\n`)
  process.exit(2)
}
const writes = Number(args.writes ?? 5)
if (!Number.isInteger(writes) || writes < 1 || writes > 100) {
  process.stderr.write(`gorm-dead-host: --writes must be an integer from 1 to 100, got "${args.writes}"\n`)
  process.exit(2)
}
if ((await $({ nothrow: true, quiet: true })`go version`).exitCode !== 0) {
  process.stderr.write('gorm-dead-host: needs Go (the go command) to build deploy/bench/gorm-probe\n')
  process.exit(2)
}
ensureRoot('gorm-dead-host')

/** @param {string} line */
const log = (line) => process.stderr.write(`gorm-dead-host: ${line}\n`)
const probe = path.join(await fs.mkdtemp('/tmp/gorm-probe-'), 'gorm-probe')
/** @type {LabCluster | undefined} */
let cluster
try {
  log('building gorm-probe')
  await $({ cwd: path.join(here, 'gorm-probe'), quiet: true })`go build -o ${probe} .`
  log('lab up + bring-up')
  cluster = await startLabCluster(LAB)
  await psql(cluster.databaseUrl, 'create table gorm_probe(id bigserial primary key, at timestamptz default clock_timestamp())')
  const { databaseUrl } = cluster
  const run = async () =>
    (await $({ quiet: true })`${probe} -dsn ${databaseUrl} -writes ${writes}`).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
  const baseline = await run()
  const ctx = await loadClusterContext(cluster.inventory.file)
  const first = cluster.lab.vms[0]
  if (!first) throw new Error(`lab ${cluster.lab.name} has no VM`)
  /** @type {MonitorNode[]} */
  const nodesBefore = await ctx.runtime.clusterNodes()
  const before = nodesBefore.find((n) => roleOf(n) === 'primary')
  if (before?.host !== first.address)
    throw new Error(`expected the first host of the DSN (${first.address}) to be the primary, found ${before?.host}`)
  log(`baseline: ${baseline.map((r) => r.ms.toFixed(0)).join('/')} ms`)
  await injectFault(cluster.lab, 'partition', first.vm)
  const after = await waitFor(
    async () => {
      /** @type {MonitorNode[]} */
      const nodes = await ctx.runtime.clusterNodes().catch(() => [])
      const primary = nodes.find((n) => roleOf(n) === 'primary' && n.host !== first.address)
      return primary ?? null
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'a new primary' },
  )
  const deadFirst = await run()
  const connectTimeoutS = Number(/[?&]connect_timeout=(\d+)/.exec(cluster.databaseUrl)?.[1])
  const results = {
    started_at: new Date().toISOString(),
    client: 'gorm.io/gorm v1.31.2 + gorm.io/driver/postgres v1.6.3 (pgx v5), a new connection per write',
    connect_timeout_s: connectTimeoutS,
    baseline_ms: baseline.map((r) => r.ms),
    first_host_black_holed: {
      new_primary: after.name,
      ms: deadFirst.map((r) => r.ms),
      hosts: deadFirst.map((r) => r.host ?? null),
      errors: deadFirst.filter((r) => r.error).map((r) => r.error),
    },
  }
  log(
    `first host black-holed (${first.address}), primary ${after.name}: ${deadFirst.map((r) => (r.error ? 'error' : r.ms.toFixed(0))).join('/')} ms with connect_timeout=${connectTimeoutS}s`,
  )
  const file = await writeBenchResults('gorm-dead-host', results.started_at, results)
  process.stdout.write(`${JSON.stringify(results)}\nwritten: ${path.relative(process.cwd(), file)}\n`)
} catch (error) {
  log(`failed: ${errorMessage(error)}`)
  process.exitCode = 1
} finally {
  await stopLabCluster(cluster).catch((error) => log(`lab down failed: ${error.message}`))
  await fs.rm(path.dirname(probe), { recursive: true, force: true })
}
