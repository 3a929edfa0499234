// What the day-2 scripts (maintenance, rejoin, add-node, replace-monitor, switchover) share: picking the
// node an operator named, judging the rest of the cluster, showing the monitor's view.
import { roleOf } from './cluster-health.mjs'
import { InputError } from '../../lib/errors.mjs'

/**
 * @typedef {import('./runtimes/pg-autoctl-core.mjs').MonitorNode} MonitorNode
 * @typedef {import('./cluster-health.mjs').NodeSummary} NodeSummary
 * @typedef {import('./inventory.mjs').Inventory} Inventory
 * @typedef {import('./inventory.mjs').InventoryHost} InventoryHost
 */

/**
 * The data node an option names. Options name nodes by node_name (the name pg_auto_failover and
 * the monitor's view use); an inventory host name there is refused, naming the node_name meant.
 * @param {Pick<Inventory, 'nodes'>} inventory @param {string} name @param {string} flag the option, for the message
 * @param {{unknown?: string}} [options] unknown: what to do about a name the inventory lacks
 * @returns {InventoryHost}
 */
export function nodeNamed(inventory, name, flag, { unknown } = {}) {
  const node = inventory.nodes.find((n) => n.nodeName === name)
  if (node) return node
  const byHost = inventory.nodes.find((n) => n.host === name)
  if (byHost) throw new InputError(`${name} is an inventory host; ${flag} takes a node_name: ${byHost.nodeName}`)
  throw new InputError(
    `${flag} "${name}" is not a node of the inventory (${inventory.nodes.map((n) => n.nodeName).join(', ')})${unknown ? `; ${unknown}` : ''}`,
  )
}

/**
 * --node, required. @param {Pick<Inventory, 'nodes'>} inventory @param {string|undefined} name a node_name @param {string} usage
 * @param {{unknown?: string}} [options] as nodeNamed's
 * @returns {InventoryHost}
 */
export function nodeByName(inventory, name, usage, options) {
  if (!name) throw new InputError(`--node is required; ${usage}`)
  return nodeNamed(inventory, name, '--node', options)
}

/**
 * A healthy node: settled in the state it was assigned and passing the monitor's checks.
 * @param {NodeSummary | undefined} node the monitor's row (none: not settled) @param {string[]} states
 * @returns {boolean}
 */
export function settledIn(node, states) {
  return !!node && node.reported_state === node.assigned_state && states.includes(node.reported_state) && node.health === 1
}

/**
 * The cluster without `exceptName`: exactly one primary, every other node a healthy secondary.
 * @param {NodeSummary[]} nodes the monitor's view (clusterNodes) @param {string} exceptName a node_name
 * @returns {string[]} problems, empty when healthy
 */
export function problemsOfOthers(nodes, exceptName) {
  const others = nodes.filter((n) => n.name !== exceptName)
  /** @type {string[]} */
  const problems = []
  const primaries = others.filter((n) => roleOf(n) === 'primary')
  if (primaries.length !== 1) problems.push(`${primaries.length} primaries (${primaries.map((n) => n.name).join(', ') || 'none'})`)
  for (const node of others)
    if (!settledIn(node, ['primary', 'secondary']))
      problems.push(`${node.name}: ${node.reported_state}/${node.assigned_state}, health ${node.health}`)
  return problems
}

/**
 * The one healthy primary the monitor knows, or undefined.
 * @template {NodeSummary} N
 * @param {N[]} nodes the monitor's view (clusterNodes)
 * @returns {N | undefined}
 */
export function healthyPrimary(nodes) {
  const primaries = nodes.filter((n) => roleOf(n) === 'primary')
  return primaries.length === 1 && settledIn(primaries[0], ['primary', 'wait_primary']) ? primaries[0] : undefined
}

/** The client's exit code when the monitor refuses or cannot be reached (pg_autoctl defaults.h). */
const EXIT_CODE_MONITOR = 6

/**
 * `pg_autoctl perform switchover` on the monitor, or `perform promotion` of `to`. Right after a
 * node settles the monitor may still refuse ("cannot fail over: primary node is not in a stable
 * state"; the client exits 6): tried again every `intervalMs` for up to `timeoutMs`, unless the monitor's
 * view shows the switchover under way, which the caller's wait for the new primary then follows.
 * @param {{inventory: Inventory, runtime: import('./runtimes/runtime.mjs').Runtime}} ctx
 * @param {{to?: string, timeoutMs?: number, intervalMs?: number}} [options]
 */
export async function performSwitchover({ inventory, runtime }, { to, timeoutMs = 60_000, intervalMs = 2000 } = {}) {
  const monitor = inventory.monitor
  const action = to ? ['promotion', '--name', to] : ['switchover']
  const argv = ['pg_autoctl', 'perform', ...action, '--pgdata', monitor.pgdata, '--formation', inventory.formation]
  const before = (await runtime.clusterNodes()).find((n) => roleOf(n) === 'primary')?.name
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const out = await runtime.pg(monitor, argv, { allowFailure: true })
    if (out.exitCode === 0) return
    const view = await runtime.clusterNodes().catch(() => [])
    const underWay = view.some(
      (n) => (n.name === before && n.assigned_state !== 'primary') || (n.name === to && n.assigned_state !== 'secondary'),
    )
    if (underWay) return
    if (out.exitCode !== EXIT_CODE_MONITOR || Date.now() >= deadline) {
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join(' | ')
      throw new Error(`pg_autoctl perform ${action[0]} on ${monitor.host} exited ${out.exitCode}: ${detail}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/**
 * The monitor's view as a table (the columns status.mjs prints).
 * @param {Array<Pick<MonitorNode, 'name' | 'host' | 'port' | 'reported_state' | 'assigned_state' | 'health' | 'tli' | 'lsn'>>} nodes
 * @returns {string}
 */
export function nodesTable(nodes) {
  const header = ['Node', 'Host:Port', 'Role', 'Health', 'TLI:LSN', 'Reported / Assigned']
  const rows = [header]
  for (const n of nodes) {
    rows.push([
      n.name,
      `${n.host}:${n.port}`,
      roleOf(n),
      n.health === 1 ? 'ok' : n.health === 0 ? 'FAILING' : 'unknown',
      `${n.tli}:${n.lsn}`,
      `${n.reported_state} / ${n.assigned_state}`,
    ])
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  const lines = rows.map((row) =>
    row
      .map((cell, j) => String(cell).padEnd(widths[j] ?? 0))
      .join('  ')
      .trimEnd(),
  )
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines.join('\n') + '\n'
}
