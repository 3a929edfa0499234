#!/usr/bin/env node
// status: the cluster as the monitor sees it.
//   usage: status.mjs --inventory <file> [--json] [--private-data-dir <dir> [--ident <id>]]
//   exit 0 healthy, 1 unhealthy or unreachable, 2 bad input
import { assessCluster, roleOf, stuckCause, stuckNodes } from './lib/cluster-health.mjs'
import { nodesTable } from './lib/day2.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: status.mjs --inventory <file>'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, loadContext }) {
  const { inventory, runtime, transport } = await loadContext()
  await transport.ensureReachable([inventory.monitor])
  const nodes = await runtime.clusterNodes()
  const syncStandbyNames = await runtime.synchronousStandbyNames(nodes)
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
    process.stdout.write(nodesTable(nodes))
    process.stdout.write(`\nformation ${inventory.formation}; synchronous_standby_names: ${syncStandbyNames === null ? '(not asked: no node is assigned a writable state)' : syncStandbyNames || "''"}\n`)
    process.stdout.write(healthy ? 'healthy\n' : `UNHEALTHY:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
    for (const hint of hints) process.stdout.write(`hint: ${hint}\n`)
  }
  return healthy ? 0 : 1
}

await runClusterScript({ name: 'status', usage: USAGE, main })
