#!/usr/bin/env node
// rejoin: rebuild a standby that cannot come back by itself (a diverged timeline pg_rewind cannot
// fix, a node stuck in join_secondary with WAL the primary never had, a lost or corrupt data
// directory) from a fresh base backup of the current primary. Destructive: asks for --yes.
//
// The pg_auto_failover way, as for a lost node (docs: pg_autoctl drop node): forget the node on
// the monitor (pgautofailover.remove_node(id, force), what `drop node --force` calls), delete its data, then create it again; `pg_autoctl create
// postgres` registers it anew and clones the primary with pg_basebackup.
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, no host touched);
//           without --yes: print what it would do, exit 2
//        2. hosts reachable (the monitor and the node)
//        3. the cluster per the monitor: refuse (exit 2) when the node is the primary or no other
//           node is a healthy primary; the node already a healthy secondary -> "no change", exit 0
//        4. node: stop its keeper (and so its Postgres)
//        5. monitor: drop the node (remove_node with force: its keeper is stopped)
//        6. node: delete its data directory and pg_autoctl's files
//        7. bring-up's steps for a further node: passfile, create, keeper profile, pg_hba,
//           service, wait until secondary
//        8. verify: one primary, the rest secondaries, all healthy
// Re-running after a failure resumes: every step checks before it acts.
// usage: rejoin.mjs --inventory <file> --node <node_name> --yes [--json] [--private-data-dir <dir> [--ident <id>]]
import { createClusterSteps } from './lib/bringup-steps.mjs'
import { describeNodes, roleOf } from './lib/cluster-health.mjs'
import { healthyPrimary, nodeByName, settledIn } from './lib/day2.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'
import { waitFor } from '../lib/wait-for.mjs'

const USAGE = 'usage: rejoin.mjs --inventory <file> --node <node_name> --yes'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const ctx = await loadContext({ secrets: 'require' })
  const { inventory, runtime } = ctx
  const node = nodeByName(inventory, args.node, USAGE)
  if (!args.yes) {
    throw new InputError(
      `rejoin deletes ${node.nodeName}'s data on ${node.host} (${node.pgdata}) and rebuilds it from a base backup of the primary: ` +
        `stop its keeper, drop it from the monitor, delete its data, create it again as a standby. Add --yes to confirm. ${USAGE}`,
    )
  }
  const steps = createClusterSteps({ ...ctx, progress })

  await steps.reachableStep([inventory.monitor, node])
  const nodes = await steps.nodesNow()
  const self = nodes.find((n) => n.name === node.nodeName)
  if (self && roleOf(self) === 'primary') {
    throw new InputError(`${node.nodeName} is the current primary: rejoin only rebuilds a standby (switch over first with switchover.mjs)`)
  }
  const primary = healthyPrimary(nodes.filter((n) => n.name !== node.nodeName))
  if (!primary)
    throw new InputError(
      `no healthy primary to rebuild ${node.nodeName} from (the monitor sees: ${describeNodes(nodes) || 'no nodes'}); fix the primary first`,
    )
  if (self !== undefined && settledIn(self, ['secondary']) && self.pg_running !== false) {
    progress.info('done', `no change: ${node.nodeName} is already a healthy secondary of ${primary.name}`)
    return 0
  }

  await progress.step(`${node.nodeName}: stop`, node.host, async () => {
    const stopped = await runtime.stopNode(node)
    return { changed: stopped, detail: stopped ? `stopped ${runtime.serviceName(node)}` : 'not running' }
  })
  await progress.step(`${node.nodeName}: drop from monitor`, inventory.monitor.host, async () => {
    const known = (await steps.nodesNow()).find((n) => n.name === node.nodeName)
    if (!known) return { changed: false, detail: 'not registered' }
    // --force: the keeper is stopped, so it cannot take part in its own removal.
    await runtime.sqlExec(inventory.monitor, `select pgautofailover.remove_node(${Number(known.node_id)}::bigint, true);\n`, {
      db: 'pg_auto_failover',
    })
    await waitFor(async () => !(await steps.nodesNow()).some((n) => n.name === node.nodeName), {
      timeoutMs: 60_000,
      what: `the monitor to forget ${node.nodeName}`,
      lastSeen: () => describeNodes(steps.lastNodes()),
    })
    return { changed: true, detail: `node id ${known.node_id} removed` }
  })
  await progress.step(`${node.nodeName}: delete data`, node.host, async () => {
    const existed = await runtime.destroyData(node)
    return { changed: existed, detail: existed ? `deleted ${node.pgdata}` : 'already gone' }
  })
  await steps.passfileStep(node)
  await steps.tlsSteps([node])
  await steps.nodeSteps(node, { role: 'secondary', states: new Set(['secondary']) })
  await steps.verifyStep()
  progress.info(
    'done',
    `${node.nodeName} rebuilt from ${primary.name} and back as a secondary (${(progress.elapsedMs() / 1000).toFixed(1)} s)`,
  )
}

await runClusterScript({ name: 'rejoin', usage: USAGE, string: ['node'], boolean: ['yes'], main })
