#!/usr/bin/env node
// replace-monitor: the monitor is lost for good (the cluster keeps writing but can no longer fail
// over): build a new one on the host the inventory's `monitor` group now names and move every
// data node to it, without stopping Postgres. Destructive for the old registration: asks for --yes.
//
// pg_auto_failover 2.0's "Replacing the monitor online" (docs/operations.rst; the commands in
// src/bin/pg_autoctl/cli_enable_disable.c, keeper_register_again in keeper.c):
//   1. fence the old monitor (it must not come back; the operator's part, as in the docs)
//   2. on every node, ending with the primary: pg_autoctl disable monitor --force
//      (the keeper forgets its monitor; --force goes on when that monitor cannot be asked, and
//      in 2.0 it never can: get_nodes is called with group '' and fails, so a live old monitor
//      keeps the nodes registered: one more reason it must be fenced)
//   3. pg_autoctl create monitor on the new host
//   4. on the primary first: pg_autoctl enable monitor <uri> (Postgres not in recovery: it
//      registers as single, keeping its node id)
//   5. on every standby: pg_autoctl enable monitor <uri> (registers as wait_standby and waits
//      until the monitor assigns catchingup, then the keeper carries on without a base backup)
// The keepers keep running throughout (disable/enable reload them).
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, no host touched); runtime
//           native only; without --yes: say what it would do, exit 2
//        2. hosts reachable (the new monitor's); each data node: reachable (a command runs there
//           and its Postgres answers, which `enable monitor` needs), primary or standby, the
//           monitor its keeper uses and whether that one still answers from there; the new
//           monitor: does it answer, whom does it know
//        3. refuse (exit 2, nothing changed): no data node reachable; an unreachable node not
//           named in --skip-node; the old monitor still answering (not fenced); not exactly one
//           primary among the nodes to move; every node already registered with the
//           inventory's monitor, which answers and was not built by this script (nothing to
//           replace: the inventory still names the live monitor)
//        4. new monitor: passfile, then bring-up's monitor steps (monitorSteps: create, pg_hba,
//           service, accepts connections, autoctl_node password, failover profile, ...); mark it
//           as the replacement (a comment on its pg_auto_failover database). When it turns out
//           to be the nodes' own monitor, only down, that knows them all: say so, move nothing
//        5. each node: pg_hba admits the new monitor's health checks (pg_autoctl adds that rule
//           only when it creates a primary; without it every check is a FATAL in the node's
//           log, though the monitor counts a refused login as "up"); its keeper service runs
//        6. disable monitor --force: the standbys, then the primary
//        7. enable monitor <monitorUri(inventory)>: the primary (wait until the new monitor sees
//           it settled), then each standby
//        8. each node: keeper profile (pg_autoctl.monitor = monitorUri(inventory) with the
//           profile's keepalives, network_partition_timeout)
//        9. verify on the NEW monitor: the moved nodes registered, one primary, the rest
//           secondaries, all healthy; print the status
// Every step checks before it acts: a re-run after a failure resumes, a re-run on a cluster
// already moved changes nothing and says so.
//
// A node that cannot be reached (host down, Postgres not answering) cannot be re-registered:
// the script refuses until the operator names it with --skip-node (it is lost, or will be
// rebuilt later). A skipped node stays out of the new monitor, with its keeper still pointing at
// the old one; afterwards rebuild it with rejoin.mjs --node <name> --yes, or remove it from the
// inventory.
// usage: replace-monitor.mjs --inventory <file> --yes [--skip-node <node_name>]... [--json] [--private-data-dir <dir> [--ident <id>]]
import { createClusterSteps } from './lib/bringup-steps.mjs'
import { describeNodes, roleOf } from './lib/cluster-health.mjs'
import { nodeNamed, nodesTable, settledIn } from './lib/day2.mjs'
import { errorMessage } from '../lib/error-message.mjs'
import { InputError } from '../lib/errors.mjs'
import { pgIsReadyArgv, pgIsReadyVerdict } from '../lib/port-check.mjs'
import { monitorUri } from './lib/monitor-uri.mjs'
import { runClusterScript } from './lib/script-main.mjs'
import { waitFor } from '../lib/wait-for.mjs'

const USAGE = 'usage: replace-monitor.mjs --inventory <file> --yes [--skip-node <node_name>]...'
// What `pg_autoctl config get pg_autoctl.monitor` holds once `disable monitor` ran (defaults.h).
const MONITOR_DISABLED = 'PG_AUTOCTL_DISABLED'
// The replacement's mark on the new monitor, so a re-run knows the nodes were moved there.
const MARK = 'pg-ha-kit replace-monitor:'
// `pg_autoctl enable monitor` on a standby waits, unbounded, for the monitor to assign catchingup.
const ENABLE_TIMEOUT_S = 180

/**
 * @typedef {import('./lib/inventory.mjs').InventoryHost} InventoryHost
 * @typedef {import('./lib/runtimes/pg-autoctl-core.mjs').MonitorNode} MonitorNode
 * @typedef {object} NodeSurvey a data node as inspectNode found it
 * @property {InventoryHost} node
 * @property {boolean} reachable a command runs there and its Postgres answers
 * @property {string} reason why it is not reachable
 * @property {boolean} standby
 * @property {string | null | undefined} monitorUri its keeper's pg_autoctl.monitor (null: not read)
 * @property {boolean} oldMonitorAnswers
 */

/** host:port of a monitor URI, or null for a disabled monitor. @param {string | null | undefined} uri @returns {string | null} */
function monitorAddress(uri) {
  if (!uri || uri === MONITOR_DISABLED) return null
  try {
    const url = new URL(uri)
    return `${url.hostname}:${url.port || 5432}`
  } catch {
    return uri
  }
}

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const ctx = await loadContext({ secrets: 'require' })
  const { inventory, runtime, transport } = ctx
  const monitor = inventory.monitor
  const newMonitor = `${monitor.address}:${monitor.port}`
  if (inventory.runtime !== 'native') {
    throw new InputError(
      `runtime "${inventory.runtime}" is not supported: a docker node's container command carries the monitor URI and ` +
        '`pg_autoctl create ... --run` writes it back into the keeper at every container start, so moving it needs its container re-created; replace-monitor.mjs handles runtime native only',
    )
  }
  const skipNames = [args['skip-node'] ?? []]
    .flat()
    .flatMap((value) => String(value).split(','))
    .map((name) => name.trim())
  for (const name of skipNames) {
    if (!name) throw new InputError(`--skip-node needs a node name; ${USAGE}`)
    nodeNamed(inventory, name, '--skip-node')
  }
  if (!args.yes) {
    throw new InputError(
      `replace-monitor moves every data node to the monitor the inventory names (${monitor.host}, ${newMonitor}): it creates that monitor if needed, ` +
        'then on each node runs `pg_autoctl disable monitor --force` (standbys first, the primary last) and `pg_autoctl enable monitor` (the primary first); ' +
        `the old monitor must be gone for good (fenced). Add --yes to confirm. ${USAGE}`,
    )
  }
  const skip = new Set(skipNames)
  const steps = createClusterSteps({ ...ctx, progress })
  const timeoutMs = 120_000

  // What is there now; nothing changes until every check below has passed.
  await steps.reachableStep([monitor])
  const onMonitor = await surveyMonitor()
  // Looked at in parallel (a dead host costs a connection timeout), printed in inventory order.
  const looks = inventory.nodes.map((node) => ({ node, look: inspectNode(node) }))
  /** @type {NodeSurvey[]} */
  const surveys = []
  for (const { node, look } of looks) surveys.push(await surveyStep(node, look))

  const reachable = surveys.filter((s) => s.reachable)
  /** @param {NodeSurvey[]} list */
  const why = (list) => list.map((s) => `${s.node.nodeName} on ${s.node.host} (${s.reason})`).join('; ')
  if (reachable.length === 0) throw new InputError(`no data node can be reached, so none can be re-registered: ${why(surveys)}`)
  const unreachable = surveys.filter((s) => !s.reachable && !skip.has(s.node.nodeName))
  if (unreachable.length > 0) {
    throw new InputError(
      `cannot re-register ${why(unreachable)}. If ${unreachable.length === 1 ? 'it is' : 'they are'} lost, or will be rebuilt later with rejoin.mjs, ` +
        `run again with ${unreachable.map((s) => `--skip-node ${s.node.nodeName}`).join(' ')}; nothing was changed`,
    )
  }
  const targets = reachable.filter((s) => !skip.has(s.node.nodeName))
  if (targets.length === 0)
    throw new InputError(`every reachable node is named in --skip-node (${skipNames.join(', ')}): nothing to re-register`)
  const alive = [...new Set(targets.filter((s) => s.oldMonitorAnswers).map((s) => monitorAddress(s.monitorUri)))]
  if (alive.length > 0) {
    throw new InputError(
      `the old monitor ${alive.join(', ')} still answers: pg_auto_failover's procedure starts by fencing it (stop its service for good, or power its host off) ` +
        'so it cannot come back during or after the move; pg_autoctl 2.0 does not remove the nodes from it. Nothing was changed',
    )
  }
  const primaries = targets.filter((s) => !s.standby)
  const [primary] = primaries
  if (primaries.length !== 1 || primary === undefined) {
    const detail = targets.map((s) => `${s.node.nodeName} ${s.standby ? 'standby' : 'primary'}`).join(', ')
    throw new InputError(
      primaries.length === 0
        ? `no primary among the nodes to re-register (${detail}): the primary registers first, so the new monitor keeps it as the primary; bring it back (or stop skipping it) first`
        : `${primaries.length} nodes are primaries (${detail}): refusing to register two primaries with a new monitor; resolve the split first`,
    )
  }
  const standbys = targets.filter((s) => s !== primary)

  /** @param {InventoryHost} node @param {MonitorNode[]} view */
  const registered = (node, view) => view.some((n) => n.name === node.nodeName && n.host === node.address && n.port === node.port)
  /** @param {NodeSurvey} s */
  const moved = (s) => monitorAddress(s.monitorUri) === newMonitor && registered(s.node, onMonitor.nodes)
  if (targets.every(moved) && !onMonitor.mark) {
    const view = onMonitor.nodes.filter((n) => targets.some((s) => s.node.nodeName === n.name))
    const healthy =
      view.every((n) => settledIn(n, ['primary', 'secondary', 'single'])) && view.filter((n) => roleOf(n) === 'primary').length === 1
    throw new InputError(
      `nothing to replace: ${targets.map((s) => s.node.nodeName).join(', ')} already use the inventory's monitor ${newMonitor} (${monitor.host}), ` +
        `which answers and ${healthy ? 'sees them healthy' : `knows them (${describeNodes(view)}; see status.mjs)`}. ` +
        "To move the nodes to a new monitor, point the inventory's monitor group at its host first",
    )
  }

  // The new monitor.
  await steps.passfileStep(monitor)
  await steps.tlsSteps([monitor])
  await steps.monitorSteps()
  // The nodes' own monitor, only down (its service was started again above), knows them all.
  const view = await steps.nodesNow()
  const onlyRestarted = !(await readMark()) && targets.every((s) => monitorAddress(s.monitorUri) === newMonitor && registered(s.node, view))
  if (!onlyRestarted) {
    const oldMonitors = [...new Set(targets.map((s) => monitorAddress(s.monitorUri)).filter((a) => a && a !== newMonitor))]
    await progress.step('monitor: replacement mark', monitor.host, async () => {
      const mark = await readMark()
      if (mark) return { changed: false, detail: mark }
      const text = `${MARK} nodes moved here from ${oldMonitors.join(', ') || 'a lost monitor'} on ${new Date().toISOString()}`
      await runtime.sqlExec(monitor, `comment on database pg_auto_failover is '${text.replaceAll("'", "''")}';\n`)
      return { changed: true, detail: text }
    })
  }

  // The nodes, in pg_auto_failover's order.
  for (const { node } of targets) {
    await progress.step(`${node.nodeName}: pg_hba`, node.host, async () => {
      const changed = await runtime.allowMonitorHealthChecks(node)
      return { changed, detail: changed ? `admits the health checks of the monitor at ${monitor.address}` : 'up to date' }
    })
    await steps.serviceStep(node)
  }
  for (const { node } of [...standbys, primary]) {
    await progress.step(`${node.nodeName}: disable monitor`, node.host, async () => {
      const current = await keeperMonitor(node)
      if (current === MONITOR_DISABLED) return { changed: false, detail: 'already disabled' }
      if (monitorAddress(current) === newMonitor && registered(node, await steps.nodesNow()))
        return { changed: false, detail: `registered with ${newMonitor} already` }
      await runtime.pg(node, ['pg_autoctl', 'disable', 'monitor', '--force', '--pgdata', node.pgdata])
      return { changed: true, detail: `no longer on ${monitorAddress(current)}` }
    })
  }
  const uri = monitorUri(inventory)
  for (const { node } of [primary, ...standbys]) {
    await progress.step(`${node.nodeName}: enable monitor`, node.host, async () => {
      const current = await keeperMonitor(node)
      const known = (await steps.nodesNow()).find((n) => n.name === node.nodeName)
      if (current !== MONITOR_DISABLED) {
        if (monitorAddress(current) === newMonitor && known)
          return { changed: false, detail: `registered with ${newMonitor} as node ${known.node_id}` }
        throw new Error(`its keeper uses ${monitorAddress(current)}, not ${newMonitor}, and is not disabled`)
      }
      if (known) {
        // An earlier run registered it but did not finish (its keeper still has no monitor):
        // forget that registration so `enable monitor` can register it again.
        await runtime.sqlExec(monitor, `select pgautofailover.remove_node(${Number(known.node_id)}::bigint, true);\n`, {
          db: 'pg_auto_failover',
        })
        await waitFor(async () => !(await steps.nodesNow()).some((n) => n.name === node.nodeName), {
          timeoutMs,
          what: `${newMonitor} to forget ${node.nodeName}`,
        })
      }
      await runtime.pg(node, ['timeout', String(ENABLE_TIMEOUT_S), 'pg_autoctl', 'enable', 'monitor', '--pgdata', node.pgdata, uri])
      const self = await waitFor(
        async () => {
          const row = (await steps.nodesNow()).find((n) => n.name === node.nodeName)
          // The primary registers as single: wait until it reports it, so the standbys find it.
          return row && (node !== primary.node || row.reported_state === row.assigned_state) ? row : null
        },
        { timeoutMs, what: `${newMonitor} to see ${node.nodeName}`, lastSeen: steps.describe },
      )
      return {
        changed: true,
        detail: `registered with ${newMonitor} as node ${self.node_id}, ${self.reported_state}/${self.assigned_state}`,
      }
    })
  }
  for (const { node } of targets) await steps.keeperProfileStep(node)

  const names = targets.map((s) => s.node.nodeName)
  /** @param {MonitorNode[]} nodes */
  const problemsOf = (nodes) => {
    const ours = nodes.filter((n) => names.includes(n.name))
    const problems = names.filter((name) => !ours.some((n) => n.name === name)).map((name) => `${name} not registered`)
    const settled = names.length === 1 ? ['single'] : ['primary', 'secondary']
    for (const n of ours)
      if (!settledIn(n, settled)) problems.push(`${n.name}: ${n.reported_state}/${n.assigned_state}, health ${n.health}`)
    const writable = ours.filter((n) => roleOf(n) === 'primary')
    if (writable.length !== 1) problems.push(`${writable.length} primaries`)
    return problems
  }
  await progress.step('verify', monitor.host, async () => {
    await waitFor(async () => problemsOf(await steps.nodesNow()).length === 0, {
      timeoutMs,
      what: `one healthy primary and healthy secondaries on ${newMonitor}`,
      lastSeen: () => `${describeNodes(steps.lastNodes())}: ${problemsOf(steps.lastNodes()).join('; ')}`,
    })
    const now = steps.lastNodes()
    return {
      changed: false,
      detail: `on ${newMonitor}: primary ${now.find((n) => names.includes(n.name) && roleOf(n) === 'primary')?.name}, ${names.length - 1} secondaries, all healthy`,
    }
  })
  const nodes = steps.lastNodes()

  const skipped = surveys.filter((s) => skip.has(s.node.nodeName))
  for (const s of skipped) {
    progress.info(
      'skipped',
      `${s.node.nodeName} on ${s.node.host} (${s.reachable ? 'reachable, skipped as asked' : s.reason}) is not registered with ${newMonitor}; its keeper still uses ` +
        `${monitorAddress(s.monitorUri) ?? 'the old monitor'}. Rebuild it from the primary once its host is back (rejoin.mjs --inventory ${inventory.file} --node ${s.node.nodeName} --yes), ` +
        'or remove it from the inventory',
    )
  }
  if (args.json) {
    progress.info('status', `${newMonitor} sees ${nodes.length} nodes`, { nodes: nodes.map((n) => ({ ...n, role: roleOf(n) })) })
  } else {
    process.stdout.write(`\n${nodesTable(nodes)}\n`)
  }
  const changed = progress.results.filter((r) => r.status === 'changed').length
  const outcome = onlyRestarted
    ? `nothing to replace: the monitor ${names.join(', ')} use (${newMonitor}) was not answering; its service runs again and it knows them`
    : changed
      ? `${names.join(', ')} moved to the monitor on ${monitor.host} (${newMonitor}): ${changed} steps changed something`
      : `no change: ${names.join(', ')} already on the monitor on ${monitor.host} (${newMonitor})`
  const skippedNote = skipped.length ? `; skipped ${skipped.map((s) => s.node.nodeName).join(', ')}` : ''
  progress.info('done', `${outcome}${skippedNote} (${(progress.elapsedMs() / 1000).toFixed(1)} s)`)

  /** The keeper's pg_autoctl.monitor. @param {InventoryHost} node */
  async function keeperMonitor(node) {
    return (await runtime.keeperSettings(node, ['pg_autoctl.monitor']))['pg_autoctl.monitor']
  }

  /** The replacement's mark on the inventory's monitor, or null. @returns {Promise<string | null>} */
  async function readMark() {
    const [row] = await runtime.sqlJson(
      monitor,
      "select shobj_description(oid, 'pg_database') as note from pg_database where datname = 'pg_auto_failover'",
    )
    return row?.note?.startsWith(MARK) ? row.note : null
  }

  /** The inventory's monitor as it is: does it answer, which nodes does it know, is it a replacement. */
  async function surveyMonitor() {
    /** @type {{answers: boolean, nodes: MonitorNode[], mark: string | null}} */
    let state = { answers: false, nodes: [], mark: null }
    await progress.step('monitor: current state', monitor.host, async () => {
      if (!(await runtime.acceptsSql(monitor))) return { changed: false, detail: `nothing answers on ${newMonitor} yet` }
      const [nodes, mark] = await Promise.all([steps.nodesNow().catch(() => []), readMark().catch(() => null)])
      state = { answers: true, nodes, mark }
      return {
        changed: false,
        detail: `answers on ${newMonitor}; ${nodes.length ? `knows ${describeNodes(nodes)}` : `knows no node of formation ${inventory.formation}`}${mark ? '; built by replace-monitor' : ''}`,
      }
    })
    return state
  }

  /**
   * A data node as it is: reachable (a command runs there, its Postgres answers), role, monitor. Never throws.
   * @param {InventoryHost} node @returns {Promise<NodeSurvey>}
   */
  async function inspectNode(node) {
    /** @type {NodeSurvey} */
    const survey = { node, reachable: false, reason: '', standby: true, monitorUri: null, oldMonitorAnswers: false }
    try {
      await transport.ensureReachable([node])
      if (!(await runtime.acceptsSql(node))) throw new Error('its Postgres does not answer: host down, or Postgres stopped')
      const [{ standby }] = await runtime.sqlJson(node, 'select pg_is_in_recovery() as standby')
      const monitorUri = await keeperMonitor(node)
      const old = monitorAddress(monitorUri)
      let oldMonitorAnswers = false
      if (old && old !== newMonitor) {
        // From the node, as its keeper would: accepting, or there but starting up.
        const [host, port] = [old.slice(0, old.lastIndexOf(':')), old.slice(old.lastIndexOf(':') + 1)]
        const out = await runtime.pg(node, pgIsReadyArgv(port, { host, timeoutS: 3 }), { allowFailure: true })
        oldMonitorAnswers = pgIsReadyVerdict(out.exitCode).answers
      }
      return { ...survey, reachable: true, standby, monitorUri, oldMonitorAnswers }
    } catch (error) {
      return { ...survey, reason: errorMessage(error).split('\n').filter(Boolean).at(-1) ?? 'unreachable' }
    }
  }

  /** Prints what inspectNode found. @param {InventoryHost} node @param {Promise<NodeSurvey>} look */
  async function surveyStep(node, look) {
    const survey = await look
    await progress.step(`${node.nodeName}: current state`, node.host, async () => {
      if (!survey.reachable) return { changed: false, detail: `UNREACHABLE: ${survey.reason}` }
      const at = monitorAddress(survey.monitorUri)
      const uses =
        survey.monitorUri === MONITOR_DISABLED
          ? 'monitor disabled'
          : `keeper on ${at}${at === newMonitor ? '' : survey.oldMonitorAnswers ? ', which still answers' : ', which does not answer'}`
      return {
        changed: false,
        detail: `${survey.standby ? 'standby' : 'primary'}, ${uses}${skip.has(node.nodeName) ? ', skipped as asked' : ''}`,
      }
    })
    return survey
  }
}

await runClusterScript({ name: 'replace-monitor', usage: USAGE, string: ['skip-node'], boolean: ['yes'], main })
