#!/usr/bin/env node
// status: the cluster as the monitor sees it.
//   usage: status.mjs --inventory <file> [--json] [--private-data-dir <dir> [--ident <id>]]
//   exit 0 healthy: one primary, every other node a healthy secondary
//        1 unhealthy, or the monitor unreachable
//        2 bad input
//        3 degraded by planned maintenance: nodes the operator put into maintenance
//          (maintenance.mjs --enable; assigned wait_maintenance, prepare_maintenance or
//          maintenance), everything else healthy (lib/cluster-health.mjs assessCluster)
//   --json: "verdict" is "healthy", "degraded" or "unhealthy"; "healthy" is true only when
//   healthy; "maintenance" names the nodes in planned maintenance; "problems" what is unhealthy.
//   With a group "backup": "backup" has the last backup, its age and the primary's archiving
//   (lib/backup-status.mjs); shown beside the verdict, it never changes the exit code.
import { backupStatusText, readBackupStatus } from './lib/backup-status.mjs'
import { assessCluster, roleOf, stuckCause, stuckNodes } from './lib/cluster-health.mjs'
import { nodesTable } from './lib/day2.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: status.mjs --inventory <file>'
const EXIT_DEGRADED = 3
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, loadContext }) {
  const { inventory, runtime, transport } = await loadContext()
  await transport.ensureReachable([inventory.monitor])
  const nodes = await runtime.clusterNodes()
  const syncStandbyNames = await runtime.synchronousStandbyNames(nodes)
  const { healthy, verdict, problems, maintenance } = assessCluster(nodes, inventory.nodes.length)
  const backup = await readBackupStatus({ inventory, runtime }, nodes)
  const hints = stuckNodes(nodes).map(
    (n) =>
      `${n.name} is still ${n.reported_state} ${Math.round(n.seconds_since_assigned)} s after the monitor assigned it ${n.assigned_state}; ` +
      (stuckCause(n, nodes) ? `${stuckCause(n, nodes)}; ` : '') +
      `if it does not move on, rebuild it from the primary: rejoin.mjs --inventory ${inventory.file} --node ${n.name} --yes`,
  )
  if (args.json) {
    const out = {
      formation: inventory.formation,
      verdict,
      healthy,
      problems,
      maintenance,
      hints,
      synchronous_standby_names: syncStandbyNames,
      nodes: nodes.map((n) => ({ ...n, role: roleOf(n) })),
      ...(backup ? { backup } : {}),
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n')
  } else {
    process.stdout.write(nodesTable(nodes))
    process.stdout.write(
      `\nformation ${inventory.formation}; synchronous_standby_names: ${syncStandbyNames === null ? '(not asked: no node is assigned a writable state)' : syncStandbyNames || "''"}\n`,
    )
    process.stdout.write(verdictText({ verdict, problems, maintenance }, inventory.file))
    if (backup) process.stdout.write(backupStatusText(backup))
    for (const hint of hints) process.stdout.write(`hint: ${hint}\n`)
  }
  return healthy ? 0 : verdict === 'degraded' ? EXIT_DEGRADED : 1
}

/**
 * @param {Pick<ReturnType<typeof assessCluster>, 'verdict' | 'problems' | 'maintenance'>} assessment
 * @param {string} inventoryFile
 */
function verdictText({ verdict, problems, maintenance }, inventoryFile) {
  const inMaintenance = maintenance.length > 0 ? `in planned maintenance: ${maintenance.join(', ')}` : ''
  if (verdict === 'healthy') return 'healthy\n'
  if (verdict === 'degraded') {
    return (
      `DEGRADED (planned maintenance): ${inMaintenance}; the rest is healthy. ` +
      `Back with: ${maintenance.map((name) => `maintenance.mjs --inventory ${inventoryFile} --node ${name} --disable`).join('; ')}\n`
    )
  }
  return `UNHEALTHY:\n${problems.map((p) => `  - ${p}`).join('\n')}\n${inMaintenance ? `  (${inMaintenance})\n` : ''}`
}

await runClusterScript({ name: 'status', usage: USAGE, main })
