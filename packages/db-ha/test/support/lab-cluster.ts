// The lab cluster helpers the TypeScript suites share (see deploy/test/support), plus what only
// this package's suites need.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { clusterStatus, labFault, until, type LabCluster } from '../../../../deploy/test/support/lab-cluster-cli.js'

export * from '../../../../deploy/test/support/lab-cluster-cli.js'

const run = promisify(execFile)
const deployScripts = path.resolve(import.meta.dirname, '../../../../deploy/scripts')

/**
 * Rebuilds a node the monitor still counts as a healthy secondary although its Postgres is not
 * one any more (e.g. promoted by hand): rejoin.mjs leaves a healthy secondary alone, so the VM is
 * powered off until the monitor sees it unhealthy, its link brought back without its services,
 * and rejoin.mjs then rebuilds it from a base backup of the primary.
 */
export async function rebuildNode(cluster: LabCluster, name: string, vm: string) {
  await labFault(cluster, 'power-off', vm)
  await until(async () => (await clusterStatus(cluster)).nodes.find((n) => n.name === name)?.health !== 1, 60_000, `the monitor to see ${name} down`)
  await labFault(cluster, 'heal', vm)
  await run(process.execPath, [path.join(deployScripts, 'rejoin.mjs'), '--inventory', cluster.inventoryFile, '--node', name, '--yes'], { maxBuffer: 16 << 20 })
  await until(async () => (await clusterStatus(cluster)).healthy, 120_000, 'a healthy cluster')
}
