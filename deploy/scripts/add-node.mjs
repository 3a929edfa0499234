#!/usr/bin/env node
// add-node: join a data node added to the inventory's `nodes` group after the first bring-up,
// as a secondary, with the steps bring-up runs for a further node.
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, no host touched)
//        2. hosts reachable (every host of the inventory)
//        3. the cluster per the monitor has a healthy primary to clone (else exit 2)
//        4. ~postgres/.pgpass on the new node; the replication password on the primary
//        5. pg_hba on the existing nodes (pg_rewind from the new node's address)
//        6. new node: create (pg_basebackup of the primary), keeper profile, pg_hba, service,
//           wait until secondary
//        7. verify: one primary, the rest secondaries, all healthy
//        8. the application DSN, now listing the new node, in the env file (0600)
// Idempotent: a node that already is a healthy secondary changes nothing ("no change").
// usage: add-node.mjs --inventory <file> --node <node_name> [--env-output <path>] [--json] [--private-data-dir <dir> [--ident <id>]]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClusterSteps } from './lib/bringup-steps.mjs'
import { describeNodes } from './lib/cluster-health.mjs'
import { healthyPrimary, nodeByName } from './lib/day2.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = 'usage: add-node.mjs --inventory <file> --node <node_name> [--env-output <path>]'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  if (!args.node) throw new InputError(`--node is required; ${USAGE}`)
  const ctx = await loadContext({ secrets: 'require' })
  const { inventory } = ctx
  // The node_name of a host added to the nodes group: the name every other script's --node takes.
  const node = nodeByName(inventory, args.node, USAGE, { unknown: 'add its host to the nodes group first' })
  const envFile = path.resolve(args['env-output'] ?? path.join(repoRoot, '.env'))
  const steps = createClusterSteps({ ...ctx, progress })
  const existing = inventory.nodes.filter((n) => n !== node)

  await steps.reachableStep([inventory.monitor, ...inventory.nodes])
  const nodes = await steps.nodesNow()
  const primary = healthyPrimary(nodes.filter((n) => n.name !== node.nodeName)) ?? healthyPrimary(nodes)
  if (!primary)
    throw new InputError(
      `no healthy primary for ${node.nodeName} to join (the monitor sees: ${describeNodes(nodes) || 'no nodes'}); run bringup.mjs or fix the cluster first`,
    )

  await steps.passfileStep(node)
  await steps.tlsSteps([node])
  await steps.replicationPasswordStep()
  for (const other of existing) await steps.hardenHbaStep(other)
  await steps.nodeSteps(node, { role: 'secondary' })
  await steps.verifyStep()
  await steps.envFileStep(envFile)
  const changed = progress.results.filter((r) => r.status === 'changed').length
  progress.info(
    'done',
    `${changed ? `${node.nodeName} joined: ${changed} steps changed something` : `no change: ${node.nodeName} already in the cluster`} (${(progress.elapsedMs() / 1000).toFixed(1)} s)`,
  )
}

await runClusterScript({ name: 'add-node', usage: USAGE, string: ['node', 'env-output'], main })
