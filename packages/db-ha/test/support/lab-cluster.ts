// The lab cluster helpers every package's suites share (`@pg-ha/deploy/testing`), plus what only
// this package's suites need.
import { waitFor } from '@pg-ha/deploy/cluster'
import { clusterStatus, labFault, type LabCluster } from '@pg-ha/deploy/testing'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { promisify } from 'node:util'

export * from '@pg-ha/deploy/testing'

const run = promisify(execFile)
const deployDir = path.dirname(createRequire(import.meta.url).resolve('@pg-ha/deploy/package.json'))

/**
 * Rebuilds a node the monitor still counts as a healthy secondary although its Postgres is not
 * one any more (e.g. promoted by hand): rejoin.mjs leaves a healthy secondary alone, so the VM is
 * powered off until the monitor sees it unhealthy, its link brought back without its services,
 * and rejoin.mjs then rebuilds it from a base backup of the primary.
 */
export async function rebuildNode(cluster: LabCluster, name: string, vm: string) {
  await labFault(cluster, 'power-off', vm)
  await waitFor(async () => (await clusterStatus(cluster)).nodes.find((n) => n.name === name)?.health !== 1, {
    timeoutMs: 60_000,
    what: `the monitor to see ${name} down`,
  })
  await labFault(cluster, 'heal', vm)
  await run(
    process.execPath,
    [path.join(deployDir, 'scripts/rejoin.mjs'), '--inventory', cluster.inventory.file, '--node', name, '--yes'],
    { maxBuffer: 16 << 20 },
  )
  await waitFor(async () => (await clusterStatus(cluster)).healthy, { timeoutMs: 120_000, what: 'a healthy cluster' })
}
