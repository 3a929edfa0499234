#!/usr/bin/env node
// switchover: a planned change of primary (pg_autoctl perform switchover), then wait until the
// cluster is healthy with a new primary.
//
// Steps: 1. validate the inventory (exit 2 on bad input, no host touched)
//        2. the cluster is healthy now (a switchover needs a standby to promote)
//        3. pg_autoctl perform switchover on the monitor, or `perform promotion` of --to <node_name>
//        4. wait until healthy, with another primary (the --to node when given)
// usage: switchover.mjs --inventory <file> [--to <node_name>] [--json] [--private-data-dir <dir> [--ident <id>]]
import { assessCluster, roleOf } from './lib/cluster-health.mjs'
import { nodeNamed, performSwitchover } from './lib/day2.mjs'
import { runClusterScript } from './lib/script-main.mjs'
import { waitFor } from '../lib/wait-for.mjs'

const USAGE = 'usage: switchover.mjs --inventory <file> [--to <node_name>]'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const { inventory, runtime, transport } = await loadContext()
  if (args.to !== undefined) nodeNamed(inventory, args.to, '--to')
  await transport.ensureReachable([inventory.monitor])
  /** @type {string | undefined} the primary per the monitor, before the switchover */
  let oldPrimary
  await progress.step('healthy before', undefined, async () => {
    const nodes = await runtime.clusterNodes()
    const { healthy, problems } = assessCluster(nodes, inventory.nodes.length)
    if (!healthy) throw new Error(`the cluster is not healthy, not switching over: ${problems.join('; ')}`)
    oldPrimary = nodes.find((n) => roleOf(n) === 'primary')?.name
    return { changed: false, detail: `primary ${oldPrimary}` }
  })
  if (args.to === oldPrimary) {
    progress.info('done', `${oldPrimary} is already the primary`)
    return 0
  }
  await progress.step('perform switchover', inventory.monitor.host, async () => {
    await performSwitchover({ inventory, runtime }, { to: args.to })
    return { changed: true, detail: `switched over from ${oldPrimary}${args.to ? ` to ${args.to}` : ''}` }
  })
  await progress.step('healthy after', undefined, async () => {
    const nodes = await waitFor(
      async () => {
        const now = await runtime.clusterNodes()
        const primary = now.find((n) => roleOf(n) === 'primary')
        return assessCluster(now, inventory.nodes.length).healthy && primary?.name !== oldPrimary && (!args.to || primary?.name === args.to)
          ? now
          : null
      },
      { timeoutMs: 120_000, what: 'a healthy cluster with a new primary' },
    )
    return { changed: false, detail: `primary ${nodes.find((n) => roleOf(n) === 'primary')?.name}` }
  })
}

await runClusterScript({ name: 'switchover', usage: USAGE, string: ['to'], main })
