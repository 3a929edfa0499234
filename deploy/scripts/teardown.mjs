#!/usr/bin/env node
// teardown: remove the cluster an inventory describes (destructive: asks for --yes).
//
// Steps: 1. validate the inventory (exit 2 on bad input, no host touched)
//        2. each data node, last first: stop and remove its service, delete its data
//        3. the monitor: the same
//        4. with a group "backup": stop and remove `pgbackrest server` on every data node's host
//           but the repository host's (the repository stays, and restore.mjs reads it through
//           that server: a backup outlives the cluster it came from)
//        5. remove ~postgres/.pgpass on every host
// Idempotent: tearing down what is already gone changes nothing. The lab's VMs stay up
// (`lab down` removes those).
// usage: teardown.mjs --inventory <file> --yes [--json] [--private-data-dir <dir> [--ident <id>]]
import { BACKUP_SERVICE, backupServerHosts } from './lib/backup-config.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: teardown.mjs --inventory <file> --yes'
/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  if (!args.yes) throw new InputError(`teardown deletes every node's data; add --yes to confirm. ${USAGE}`)
  const { inventory, runtime, transport } = await loadContext()
  const hosts = [...inventory.nodes].reverse().concat(inventory.monitor)
  await progress.step('hosts reachable', undefined, async () => {
    await transport.ensureReachable(hosts)
    return { changed: false, detail: `${hosts.length} hosts over ${transport.name}` }
  })
  for (const host of hosts) {
    const label = host.role === 'monitor' ? 'monitor' : host.nodeName
    await progress.step(`${label}: stop`, host.host, async () => {
      const wasRunning = await runtime.stopService(host)
      await runtime.removeService(host)
      return { changed: wasRunning, detail: wasRunning ? `stopped ${runtime.serviceName(host)}` : 'not running' }
    })
    await progress.step(`${label}: data`, host.host, async () => {
      const existed = await runtime.destroyData(host)
      return { changed: existed, detail: existed ? `deleted ${host.pgdata}` : 'already gone' }
    })
  }
  if (inventory.backup) {
    const repoAddress = inventory.backup.repoHost.address
    for (const host of backupServerHosts(inventory.backup, inventory.nodes).filter((h) => h.address !== repoAddress)) {
      await progress.step('backup: pgbackrest server', host.host, async () => {
        const wasRunning = await transport.stopService(host, BACKUP_SERVICE)
        await transport.removeService(host, BACKUP_SERVICE)
        return { changed: wasRunning, detail: wasRunning ? `stopped and removed on ${host.address}` : 'not running' }
      })
    }
  }
  for (const host of hosts) {
    await progress.step('passfile', host.host, async () => {
      const removed = await runtime.removePassfile(host)
      return { changed: removed, detail: removed ? 'removed' : 'already gone' }
    })
  }
  if (!args.json) process.stdout.write(`\nteardown done (${(progress.elapsedMs() / 1000).toFixed(1)} s)\n`)
}

await runClusterScript({ name: 'teardown', usage: USAGE, boolean: ['yes'], main })
