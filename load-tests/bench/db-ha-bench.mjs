#!/usr/bin/env node
// db-ha benchmark on a lab cluster of its own (fast failover profile). Prints figures and writes
// bench/results/db-ha-<timestamp>.json; asserts nothing about speed.
//
// Steps: 1. lab up + bring-up
//        2. steady state: a write+read loop (4 workers) through the db-ha pool and through a plain
//           pg.Pool pointed straight at the primary, alternated in rounds; queries/s and ratio
//        3. promotion -> first query: a db-ha writer runs while the primary is switched over and,
//           separately, powered off; a direct probe on every standby times the moment the new
//           primary accepts writes; the figure is the gap to db-ha's first write there
//        4. dead host first: the primary listed first in the DSN is partitioned; after the
//           failover, a new connection through db-ha (fresh pool, warm pool) vs libpq (psql)
//        5. every acknowledged write is stored exactly once, or the run fails
//        6. lab down (also on failure)
// usage: npm run bench:db-ha -- [--seconds 5] [--rounds 3]   (builds db-ha first)
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createPool, withRetry } from '@pg-ha/db-ha'
import { assessCluster, ensureRoot, exitCodeFor, loadClusterContext, parseOptions, roleOf, waitFor } from '@pg-ha/deploy/cluster'
import { injectFault } from '@pg-ha/deploy/lab'
import { nodeDsn, nodePort, parseDatabaseUrl, psql, startLabCluster, stopLabCluster } from '@pg-ha/deploy/testing'

/** @typedef {import('@pg-ha/deploy/testing').LabCluster} LabCluster */
/** @typedef {import('@pg-ha/deploy/cluster').ClusterContext} ClusterContext */
/** @typedef {import('@pg-ha/deploy/cluster').MonitorNode} MonitorNode */
/** @typedef {'switchover' | 'power-off'} Scenario */
/** A write db-ha acknowledged: its logical id, when (performance.now()), the server that stored it. @typedef {{key: string, at: number, via: string | null}} Ack */
/**
 * @typedef {object} SteadyState
 * @property {number} seconds_per_round
 * @property {number} rounds
 * @property {number} plain_pg_pool_qps
 * @property {number} db_ha_qps
 * @property {number} ratio
 * @property {number} goal_ratio
 */
/**
 * @typedef {object} PromotionFigures
 * @property {Scenario} scenario
 * @property {string} old_primary
 * @property {string} new_primary
 * @property {number} promotion_after_fault_ms
 * @property {number} promotion_to_first_db_ha_write_ms
 * @property {number} write_outage_ms
 * @property {number} surfaced_errors
 * @property {number} acknowledged
 * @property {number} lost
 * @property {number} duplicated
 * @property {number} goal_ms
 */
/**
 * @typedef {object} DeadHostFigures
 * @property {string} dsn_first_host
 * @property {number} connect_timeout_s
 * @property {number[]} db_ha_fresh_pool_first_query_ms
 * @property {number[]} db_ha_warm_pool_new_connection_ms
 * @property {number[]} libpq_psql_new_connection_ms
 * @property {number[]} libpq_psql_direct_to_primary_ms
 * @property {true | string} cluster_healthy_after_heal true, or "no: <why>"
 */
/**
 * What bench/results/db-ha-<timestamp>.json holds; a step's figures are absent when the run
 * failed before it.
 * @typedef {object} Results
 * @property {string} started_at
 * @property {{cpus: number}} host
 * @property {string} profile
 * @property {SteadyState} [steady_state]
 * @property {PromotionFigures[]} [promotion_to_first_query]
 * @property {DeadHostFigures} [dead_host_first]
 * @property {string} [finished_at]
 */

const LAB = { name: 'pghdbb', subnet: '10.213.47.0/24', profile: 'fast' }
const resultsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results')
const USAGE = 'usage: npm run bench:db-ha -- [--seconds 5] [--rounds 3]'
/** @type {{seconds?: string, rounds?: string}} */
let args = {}
try {
  args = parseOptions(process.argv.slice(2), { usage: USAGE, options: { seconds: { type: 'string' }, rounds: { type: 'string' } } }).values
} catch (error) {
  process.stderr.write(`db-ha-bench: ${messageOf(error)}\n`)
  process.exit(exitCodeFor(error))
}
const seconds = Number(args.seconds ?? 5)
const rounds = Number(args.rounds ?? 3)
for (const [flag, value] of /** @type {const} */ ([
  ['seconds', seconds],
  ['rounds', rounds],
])) {
  if (!Number.isInteger(value) || value < 1 || value > 600) {
    process.stderr.write(`db-ha-bench: --${flag} must be an integer from 1 to 600, got "${args[flag]}"\n`)
    process.exit(2)
  }
}
ensureRoot('db-ha-bench')

/** @param {string} line */
const log = (line) => process.stderr.write(`db-ha-bench: ${line}\n`)
/** @param {number} ms @returns {Promise<void>} */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** @type {Results} */
const results = { started_at: new Date().toISOString(), host: { cpus: os.cpus().length }, profile: LAB.profile }
/** @type {LabCluster | undefined} */
let labCluster
/** @type {ClusterContext | undefined} */
let clusterContext

try {
  log('lab up + bring-up')
  const cluster = (labCluster = await startLabCluster(LAB))
  clusterContext = await loadClusterContext(cluster.inventory.file)
  // The logical write id is in a column WITHOUT a unique constraint, so verify() can see a write
  // stored twice (a unique index would reject the second row and hide it). The plain index keeps
  // the reads by id and the writer's existence check cheap.
  const created = await psql(
    cluster.databaseUrl,
    'create table bench(seq bigserial primary key, logical_id text not null, body text, via inet default inet_server_addr()); create index bench_logical_id on bench(logical_id)',
  )
  if (!created.ok) throw new Error(`creating the bench table failed: ${created.stderr}`)
  results.steady_state = await steadyState()
  log(`steady state: ${JSON.stringify(results.steady_state)}`)
  results.promotion_to_first_query = []
  for (const scenario of /** @type {const} */ (['switchover', 'power-off'])) {
    const figures = await promotionToFirstQuery(scenario)
    results.promotion_to_first_query.push(figures)
    log(`${scenario}: ${JSON.stringify(figures)}`)
  }
  results.dead_host_first = await deadHostFirst()
  log(`dead host first: ${JSON.stringify(results.dead_host_first)}`)
} catch (error) {
  log(`failed: ${messageOf(error)}`)
  process.exitCode = 1
} finally {
  await stopLabCluster(labCluster, LAB)
}

results.finished_at = new Date().toISOString()
await fs.mkdir(resultsDir, { recursive: true })
const file = path.join(resultsDir, `db-ha-${results.started_at.replace(/[:.]/g, '-')}.json`)
await fs.writeFile(file, JSON.stringify(results, null, 2) + '\n')
report()
process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`)

/** The lab cluster and its context: every step after lab up needs them. */
function started() {
  if (!labCluster || !clusterContext) throw new Error('the lab cluster is not up')
  return { cluster: labCluster, ctx: clusterContext }
}

/** @returns {Promise<MonitorNode[]>} */
async function clusterNodes() {
  return started().ctx.runtime.clusterNodes()
}

/** @returns {Promise<MonitorNode[]>} */
async function healthyNodes() {
  const { ctx } = started()
  return waitFor(
    async () => {
      const nodes = await clusterNodes()
      return assessCluster(nodes, ctx.inventory.nodes.length).healthy ? nodes : null
    },
    { timeoutMs: 180_000, what: 'a healthy cluster' },
  )
}

/** @returns {Promise<MonitorNode>} */
async function primaryNode() {
  const primary = (await healthyNodes()).find((n) => roleOf(n) === 'primary')
  if (!primary) throw new Error('a healthy cluster without a primary')
  return primary
}

/** The lab VM of a node's address. @param {string} address */
function vmOf(address) {
  const vm = started().cluster.lab.vms.find((v) => v.address === address)
  if (!vm) throw new Error(`no lab VM has the address ${address}`)
  return vm.vm
}

/**
 * queries/s of `workers` loops doing an insert and a read by logical id, for `ms`.
 * @param {import('pg').Pool} pool a plain pg.Pool or db-ha's HaPool (a pg.Pool)
 * @param {string} label @param {number} ms @param {number} [workers]
 * @returns {Promise<number>}
 */
async function loopRate(pool, label, ms, workers = 4) {
  let done = 0
  const until = performance.now() + ms
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < until; i++) {
        const key = `${label}-${w}-${i}`
        await pool.query('insert into bench(logical_id, body) values ($1, $2)', [key, 'x'])
        await pool.query('select body from bench where logical_id = $1', [key])
        done += 2
      }
    }),
  )
  return done / (ms / 1000)
}

/** @returns {Promise<SteadyState>} */
async function steadyState() {
  const { cluster } = started()
  const primary = await primaryNode()
  const { dbname, user, password } = parseDatabaseUrl(cluster.databaseUrl)
  const plain = new pg.Pool({ host: primary.host, port: primary.port, database: dbname, user, password, max: 4 })
  const ha = createPool({ dsn: cluster.databaseUrl, pool: { max: 4 } })
  try {
    // Warm both pools up before measuring.
    await loopRate(plain, 'warm-plain', 1000)
    await loopRate(ha, 'warm-ha', 1000)
    const plainRates = []
    const haRates = []
    for (let round = 0; round < rounds; round++) {
      plainRates.push(await loopRate(plain, `plain-${round}`, seconds * 1000))
      haRates.push(await loopRate(ha, `ha-${round}`, seconds * 1000))
    }
    const plainQps = sum(plainRates) / rounds
    const haQps = sum(haRates) / rounds
    return {
      seconds_per_round: seconds,
      rounds,
      plain_pg_pool_qps: Math.round(plainQps),
      db_ha_qps: Math.round(haQps),
      ratio: round3(haQps / plainQps),
      goal_ratio: 0.97,
    }
  } finally {
    await plain.end()
    await ha.end()
  }
}

/**
 * A direct probe per standby: one plain connection each, inserting every 2 ms until an insert
 * succeeds there (the moment that node accepts writes as primary).
 * @param {MonitorNode[]} standbys @param {string} databaseUrl @param {{value: boolean}} stop
 * @param {number} [timeoutMs]
 * @returns {Promise<{node: string, host: string, at: number}>} the first node to accept a write
 */
function probeStandbys(standbys, databaseUrl, stop, timeoutMs = 120_000) {
  const deadline = performance.now() + timeoutMs
  return Promise.any(
    standbys.map(async (node) => {
      /** @type {unknown} */
      let lastError
      while (!stop.value && performance.now() < deadline) {
        const client = new pg.Client({ connectionString: nodeDsnUri(databaseUrl, node.host), connectionTimeoutMillis: 1000 })
        client.on('error', () => {})
        try {
          await client.connect()
          while (!stop.value) {
            try {
              await client.query("insert into bench(logical_id, body) values ('probe-' || gen_random_uuid(), 'probe')")
              return { node: node.name, host: node.host, at: performance.now() }
            } catch (error) {
              if (codeOf(error) !== '25006') throw error
              if (performance.now() > deadline) break
              await sleep(2)
            }
          }
        } catch (error) {
          lastError = error
          await sleep(20)
        } finally {
          await client.end().catch(() => {})
        }
      }
      throw new Error(`no write accepted on ${node.name}${lastError ? `: ${messageOf(lastError)}` : ''}`)
    }),
  )
}

/**
 * The application's credentials, straight to one node (no target_session_attrs).
 * @param {string} databaseUrl @param {string} host
 */
function nodeDsnUri(databaseUrl, host) {
  const { user, password, dbname } = parseDatabaseUrl(databaseUrl)
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${nodePort(databaseUrl, host)}/${encodeURIComponent(dbname)}`
}

/** @param {Scenario} scenario @returns {Promise<PromotionFigures>} */
async function promotionToFirstQuery(scenario) {
  const { cluster, ctx } = started()
  const nodes = await healthyNodes()
  const primary = nodes.find((n) => roleOf(n) === 'primary')
  if (!primary) throw new Error(`${scenario}: a healthy cluster without a primary`)
  const standbys = nodes.filter((n) => roleOf(n) === 'secondary')
  const pool = createPool({ dsn: cluster.databaseUrl, pool: { max: 4, query_timeout: 5000 } })
  /** @type {Ack[]} */
  const acked = []
  const stop = { value: false }
  let failures = 0
  const writer = (async () => {
    for (let i = 0; !stop.value; i++) {
      const key = `${scenario}-${i}`
      try {
        // Idempotent for withRetry: a retry starts only after the previous attempt ended, and an
        // attempt that committed on the old primary and was acknowledged was replicated
        // synchronously, so the new primary sees its row and the retry inserts nothing (and
        // returns no row: via null). Nothing enforces that in the schema: a retry that did write
        // twice leaves two rows for the id, which verify() counts.
        const { rows } = await withRetry(
          () =>
            pool.query(
              'insert into bench(logical_id, body) select $1::text, $2 where not exists (select 1 from bench where logical_id = $1::text) returning host(via) as via',
              [key, 'w'],
            ),
          { idempotent: true, budgetMs: 60_000, baseDelayMs: 10, maxDelayMs: 200 },
        )
        acked.push({ key, at: performance.now(), via: rows[0]?.via ?? null })
      } catch {
        failures++
      }
      await sleep(2)
    }
  })()
  try {
    await waitFor(async () => acked.length >= 50, { timeoutMs: 30_000, what: 'writes before the fault' })
    const probe = probeStandbys(standbys, cluster.databaseUrl, stop)
    // If the fault step fails, the probe is abandoned: its rejection must not go unhandled.
    probe.catch(() => {})
    const faultAt = performance.now()
    const vm = vmOf(primary.host)
    if (scenario === 'switchover')
      await ctx.runtime.pg(ctx.inventory.monitor, [
        'pg_autoctl',
        'perform',
        'switchover',
        '--pgdata',
        ctx.inventory.monitor.pgdata,
        '--formation',
        ctx.inventory.formation,
      ])
    else await injectFault(cluster.lab, 'power-off', vm)
    const promoted = await probe
    const first = await waitFor(async () => acked.find((w) => w.at >= faultAt && w.via === promoted.host), {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'a db-ha write on the new primary',
    })
    if (scenario === 'power-off') await injectFault(cluster.lab, 'restart', vm)
    await healthyNodes()
    stop.value = true
    await writer
    const { lost, duplicated } = await verify(acked.map((w) => w.key))
    if (lost || duplicated) throw new Error(`${scenario}: ${lost} acknowledged writes lost, ${duplicated} duplicated`)
    /** @type {number[]} */
    const gaps = []
    /** @type {Ack | undefined} */
    let previous
    for (const w of acked) {
      if (previous) gaps.push(w.at - previous.at)
      previous = w
    }
    return {
      scenario,
      old_primary: primary.name,
      new_primary: promoted.node,
      promotion_after_fault_ms: Math.round(promoted.at - faultAt),
      promotion_to_first_db_ha_write_ms: Math.round(first.at - promoted.at),
      write_outage_ms: Math.round(Math.max(...gaps)),
      surfaced_errors: failures,
      acknowledged: acked.length,
      lost,
      duplicated,
      goal_ms: 100,
    }
  } finally {
    stop.value = true
    await writer
    await pool.end()
  }
}

/** @returns {Promise<DeadHostFigures>} */
async function deadHostFirst() {
  const { cluster, ctx } = started()
  // The first host of the DSN must be the primary, then black-holed.
  const first = cluster.lab.vms[0]
  if (!first) throw new Error('the lab has no VM')
  let nodes = await healthyNodes()
  const firstNode = nodes.find((n) => n.host === first.address)
  if (!firstNode) throw new Error(`no node of the cluster is on ${first.vm} (${first.address})`)
  if (roleOf(firstNode) !== 'primary') {
    await ctx.runtime.pg(ctx.inventory.monitor, [
      'pg_autoctl',
      'perform',
      'promotion',
      '--name',
      firstNode.name,
      '--pgdata',
      ctx.inventory.monitor.pgdata,
      '--formation',
      ctx.inventory.formation,
    ])
    await waitFor(
      async () => {
        nodes = await clusterNodes()
        const node = nodes.find((n) => n.host === first.address)
        return assessCluster(nodes, ctx.inventory.nodes.length).healthy && node !== undefined && roleOf(node) === 'primary'
      },
      { timeoutMs: 120_000, what: `${firstNode.name} as primary` },
    )
  }
  const warm = createPool({ dsn: cluster.databaseUrl, pool: { max: 8 } })
  await warm.query('select 1')
  await injectFault(cluster.lab, 'partition', first.vm)
  let figures
  try {
    const newPrimary = await waitFor(
      async () => {
        const now = await clusterNodes().catch(() => [])
        const p = now.find((n) => roleOf(n) === 'primary' && n.host !== first.address)
        return p ?? null
      },
      { timeoutMs: 120_000, what: 'a new primary' },
    )
    // Let the warm pool find the new primary once, as a running service would.
    await withRetry(() => warm.query('select 1'), { idempotent: true, budgetMs: 60_000 })
    const fresh = []
    for (let i = 0; i < 5; i++) {
      const pool = createPool({ dsn: cluster.databaseUrl })
      const t0 = performance.now()
      await pool.query('select 1')
      fresh.push(performance.now() - t0)
      await pool.end()
    }
    // New connections of a pool that already knows the primary (held, so each is a new one).
    const warmTimes = []
    const held = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      held.push(await warm.connect())
      warmTimes.push(performance.now() - t0)
    }
    for (const client of held) client.release(true)
    const libpq = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      const out = await psql(cluster.databaseUrl, 'select 1', { timeoutMs: 60_000 })
      if (!out.ok) throw new Error(`psql through the DSN failed: ${out.stderr}`)
      libpq.push(performance.now() - t0)
    }
    // psql's own start-up, to subtract: the same connection straight to the new primary.
    const direct = []
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      await psql(nodeDsn(cluster.databaseUrl, newPrimary.host), 'select 1')
      direct.push(performance.now() - t0)
    }
    const connectTimeout = Number(/connect_timeout=(\d+)/.exec(cluster.databaseUrl)?.[1])
    figures = {
      dsn_first_host: `${first.address} (black-holed)`,
      connect_timeout_s: connectTimeout,
      db_ha_fresh_pool_first_query_ms: fresh.map(Math.round),
      db_ha_warm_pool_new_connection_ms: warmTimes.map(Math.round),
      libpq_psql_new_connection_ms: libpq.map(Math.round),
      libpq_psql_direct_to_primary_ms: direct.map(Math.round),
    }
  } finally {
    await warm.end()
    await injectFault(cluster.lab, 'heal', first.vm)
  }
  // Reported, not fatal: the figures above stand either way.
  /** @type {true | string} */
  const converged = await healthyNodes().then(
    () => true,
    (error) => `no: ${messageOf(error)}`,
  )
  return { ...figures, cluster_healthy_after_heal: converged }
}

/**
 * Rows per acknowledged logical id: lost = ids with no row, duplicated = rows beyond one per id.
 * @param {string[]} keys @returns {Promise<{lost: number, duplicated: number}>}
 */
async function verify(keys) {
  const pool = createPool(started().cluster.databaseUrl)
  try {
    /** @type {import('pg').QueryResult<{lost: number, duplicated: number}>} */
    const {
      rows: [counts],
    } = await pool.query(
      `select count(*) filter (where n = 0)::int as lost, coalesce(sum(n - 1) filter (where n > 1), 0)::int as duplicated
       from (select k.id, count(b.seq) as n from unnest($1::text[]) as k(id) left join bench b on b.logical_id = k.id group by k.id) per_id`,
      [keys],
    )
    if (!counts) throw new Error('verify: the count query returned no row')
    return { lost: counts.lost, duplicated: counts.duplicated }
  } finally {
    await pool.end()
  }
}

function report() {
  const s = results.steady_state
  if (s)
    process.stdout.write(
      `steady state (${s.rounds} x ${s.seconds_per_round} s, 4 workers, insert+select): plain pg.Pool ${s.plain_pg_pool_qps} q/s, db-ha ${s.db_ha_qps} q/s, ratio ${s.ratio} (goal >= ${s.goal_ratio})\n`,
    )
  for (const p of results.promotion_to_first_query ?? []) {
    process.stdout.write(
      `${p.scenario.padEnd(10)} promotion ${p.promotion_after_fault_ms} ms after the fault; first db-ha write on the new primary ${p.promotion_to_first_db_ha_write_ms} ms after promotion (goal <= ${p.goal_ms}); write outage ${p.write_outage_ms} ms; errors surfaced ${p.surfaced_errors}; acked ${p.acknowledged}, lost ${p.lost}, duplicated ${p.duplicated}\n`,
    )
  }
  const d = results.dead_host_first
  if (d) {
    process.stdout.write(
      `dead host first (${d.dsn_first_host}, connect_timeout=${d.connect_timeout_s}s): db-ha fresh pool ${d.db_ha_fresh_pool_first_query_ms.join('/')} ms, warm pool new connection ${d.db_ha_warm_pool_new_connection_ms.join('/')} ms; libpq (psql) ${d.libpq_psql_new_connection_ms.join('/')} ms vs ${d.libpq_psql_direct_to_primary_ms.join('/')} ms straight to the primary\n`,
    )
  }
}

/** @param {number[]} values */
function sum(values) {
  return values.reduce((a, b) => a + b, 0)
}

/** @param {number} value */
function round3(value) {
  return Math.round(value * 1000) / 1000
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error)
}

/** The `code` of an error (a SQLSTATE for Postgres errors), if it has one. @param {unknown} error */
function codeOf(error) {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
}
