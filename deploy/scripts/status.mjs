#!/usr/bin/env node
// status: the cluster as the monitor sees it.
//   usage: status.mjs --inventory <file> [--json] [--private-data-dir <dir> [--ident <id>]]
//   exit 0 healthy, 1 unhealthy or unreachable, 2 bad input
import { assessCluster, roleOf, stuckCause, stuckNodes } from './lib/cluster-health.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: status.mjs --inventory <file>'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, loadContext }) {
  const { inventory, runtime, transport } = await loadContext()
  await transport.ensureReachable([inventory.monitor])
  const nodes = await runtime.clusterNodes()
  const syncStandbyNames = await runtime.synchronousStandbyNames()
  const { healthy, problems } = assessCluster(nodes, inventory.nodes.length)
  const hints = stuckNodes(nodes).map((n) => `${n.name} is still ${n.reported_state} ${Math.round(n.seconds_since_assigned)} s after the monitor assigned it ${n.assigned_state}; ` +
    (stuckCause(n, nodes) ? `${stuckCause(n, nodes)}; ` : '') +
    `if it does not move on, rebuild it from the primary: rejoin.mjs --inventory ${inventory.file} --node ${n.name} --yes`)
  if (args.json) {
    const out = {
      formation: inventory.formation,
      healthy,
      problems,
      hints,
      synchronous_standby_names: syncStandbyNames,
      nodes: nodes.map((n) => ({ ...n, role: roleOf(n) })),
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } else {
    const rows = [['Node', 'Host:Port', 'Role', 'Health', 'TLI:LSN', 'Reported / Assigned']]
    for (const n of nodes) {
      rows.push([n.name, `${n.host}:${n.port}`, roleOf(n), n.health === 1 ? 'ok' : n.health === 0 ? 'FAILING' : 'unknown', `${n.tli}:${n.lsn}`, `${n.reported_state} / ${n.assigned_state}`])
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
    for (const [i, row] of rows.entries()) {
      process.stdout.write(row.map((cell, j) => String(cell).padEnd(widths[j])).join('  ').trimEnd() + '\n')
      if (i === 0) process.stdout.write(widths.map((w) => '-'.repeat(w)).join('  ') + '\n')
    }
    process.stdout.write(`\nformation ${inventory.formation}; synchronous_standby_names: ${syncStandbyNames || "''"}\n`)
    process.stdout.write(healthy ? 'healthy\n' : `UNHEALTHY:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
    for (const hint of hints) process.stdout.write(`hint: ${hint}\n`)
  }
  return healthy ? 0 : 1
}

await runClusterScript({ name: 'status', usage: USAGE, main })
