// What the day-2 scripts (maintenance, rejoin, add-node, replace-monitor) share: picking the
// node an operator named, judging the rest of the cluster, showing the monitor's view.
import { roleOf } from './cluster-health.mjs'
import { InputError } from '../../lib/errors.mjs'

/** @param {any} inventory @param {string|undefined} name a pg_auto_failover node name (node_name) */
export function nodeByName(inventory, name, usage) {
  if (!name) throw new InputError(`--node is required; ${usage}`)
  const node = inventory.nodes.find((n) => n.nodeName === name)
  if (!node) throw new InputError(`--node "${name}" is not a node of the inventory (${inventory.nodes.map((n) => n.nodeName).join(', ')})`)
  return node
}

/** A healthy node: settled in the state it was assigned and passing the monitor's checks. */
export function settledIn(node, states) {
  return Boolean(node) && node.reported_state === node.assigned_state && states.includes(node.reported_state) && node.health === 1
}

/**
 * The cluster without `exceptName`: exactly one primary, every other node a healthy secondary.
 * @returns {string[]} problems, empty when healthy
 */
export function problemsOfOthers(nodes, exceptName) {
  const others = nodes.filter((n) => n.name !== exceptName)
  const problems = []
  const primaries = others.filter((n) => roleOf(n) === 'primary')
  if (primaries.length !== 1) problems.push(`${primaries.length} primaries (${primaries.map((n) => n.name).join(', ') || 'none'})`)
  for (const node of others) if (!settledIn(node, ['primary', 'secondary'])) problems.push(`${node.name}: ${node.reported_state}/${node.assigned_state}, health ${node.health}`)
  return problems
}

/** The one healthy primary the monitor knows, or undefined. */
export function healthyPrimary(nodes) {
  const primaries = nodes.filter((n) => roleOf(n) === 'primary')
  return primaries.length === 1 && settledIn(primaries[0], ['primary', 'wait_primary']) ? primaries[0] : undefined
}

/** The monitor's view as a table (the columns status.mjs prints). @returns {string} */
export function nodesTable(nodes) {
  const rows = [['Node', 'Host:Port', 'Role', 'Health', 'TLI:LSN', 'Reported / Assigned']]
  for (const n of nodes) {
    rows.push([n.name, `${n.host}:${n.port}`, roleOf(n), n.health === 1 ? 'ok' : n.health === 0 ? 'FAILING' : 'unknown', `${n.tli}:${n.lsn}`, `${n.reported_state} / ${n.assigned_state}`])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  const lines = rows.map((row) => row.map((cell, j) => String(cell).padEnd(widths[j])).join('  ').trimEnd())
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '))
  return lines.join('\n') + '\n'
}
