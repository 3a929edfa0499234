#!/usr/bin/env node
// maintenance: put one data node into pg_auto_failover's maintenance state (for a rolling
// upgrade or a reboot), or bring it back as a secondary.
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, no host touched)
//        2. hosts reachable (the monitor and the node)
//        3. current state per the monitor: already there -> "no change", exit 0. Enabling on
//           the primary fails over first, so it is refused (exit 2) without --allow-failover,
//           as pg_autoctl itself does
//        4. pg_autoctl enable|disable maintenance on the node (waits for the monitor itself)
//        5. wait until the node is in maintenance (or a healthy secondary again) and the rest
//           of the cluster is healthy: one primary, healthy secondaries
// usage: maintenance.mjs --inventory <file> --node <node_name> --enable|--disable [--allow-failover] [--json] [--private-data-dir <dir> [--ident <id>]]
import { describeNodes, inMaintenance, roleOf } from './lib/cluster-health.mjs'
import { nodeByName, problemsOfOthers, settledIn } from './lib/day2.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'
import { waitFor } from '../lib/wait-for.mjs'

const USAGE = 'usage: maintenance.mjs --inventory <file> --node <node_name> --enable|--disable [--allow-failover]'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  if (args.enable === args.disable) throw new InputError(`give exactly one of --enable or --disable; ${USAGE}`)
  const { inventory, runtime, transport } = await loadContext()
  const node = nodeByName(inventory, args.node, USAGE)
  const target = args.enable ? 'maintenance' : 'secondary'
  /** The monitor's view as last read. @type {import('./lib/runtimes/pg-autoctl-core.mjs').MonitorNode[]} */
  let lastNodes = []
  const nodesNow = async () => (lastNodes = await runtime.clusterNodes())

  await progress.step('hosts reachable', undefined, async () => {
    await transport.ensureReachable([inventory.monitor, node])
    return { changed: false, detail: `monitor and ${node.nodeName} over ${transport.name}` }
  })
  const before = await nodesNow()
  const self = before.find((n) => n.name === node.nodeName)
  if (!self) throw new InputError(`${node.nodeName} is in the inventory but the monitor does not know it (add-node.mjs joins it)`)
  if (settledIn(self, [target]) || (args.enable && self.reported_state === 'maintenance' && self.assigned_state === 'maintenance')) {
    progress.info('done', `no change: ${node.nodeName} is already ${target}`)
    return 0
  }
  // Only a node assigned a maintenance state (cluster-health's inMaintenance) has one to disable.
  if (args.disable && !inMaintenance(self)) {
    progress.info('done', `no change: ${node.nodeName} is not in maintenance (${self.reported_state}/${self.assigned_state})`)
    return 0
  }
  if (args.enable && roleOf(self) === 'primary' && !args['allow-failover']) {
    throw new InputError(
      `${node.nodeName} is the primary: maintenance on it fails over to a standby first; add --allow-failover to do that, or switch over first (switchover.mjs)`,
    )
  }

  await progress.step(`${node.nodeName}: ${args.enable ? 'enable' : 'disable'} maintenance`, node.host, async () => {
    await runtime.pg(node, [
      'pg_autoctl',
      args.enable ? 'enable' : 'disable',
      'maintenance',
      '--pgdata',
      node.pgdata,
      ...(args.enable && args['allow-failover'] ? ['--allow-failover'] : []),
    ])
    return { changed: true, detail: `was ${self.reported_state}/${self.assigned_state}` }
  })
  await progress.step(`${node.nodeName}: ${target}`, node.host, async () => {
    await waitFor(
      async () => {
        const now = await nodesNow()
        const me = now.find((n) => n.name === node.nodeName)
        // Postgres is stopped in maintenance, so the monitor's health check of it fails by design.
        const there = args.enable
          ? me?.reported_state === 'maintenance' && me.assigned_state === 'maintenance'
          : settledIn(me, ['secondary'])
        return there && problemsOfOthers(now, node.nodeName).length === 0
      },
      { timeoutMs: 120_000, what: `${node.nodeName} in ${target} and the rest healthy`, lastSeen: () => describeNodes(lastNodes) },
    )
    const primary = lastNodes.find((n) => roleOf(n) === 'primary')
    return { changed: false, detail: `${node.nodeName} ${target}; primary ${primary?.name}, the rest healthy` }
  })
  progress.info(
    'done',
    `${node.nodeName} ${args.enable ? 'in maintenance' : 'back as a secondary'} (${(progress.elapsedMs() / 1000).toFixed(1)} s)`,
  )
}

await runClusterScript({ name: 'maintenance', usage: USAGE, string: ['node'], boolean: ['enable', 'disable', 'allow-failover'], main })
