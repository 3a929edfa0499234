// What a drill's faults act through: the inventory's transport and runtime, the monitor's view,
// and, for a lab inventory (transport netns), the lab itself. A fault a real cluster cannot take
// (power-off needs the lab) is refused before anything runs.
import { createRequire } from 'node:module'
import path from 'node:path'
import { $ } from 'zx'
import { CAN_TAKE_WRITES, labOfInventory, loadClusterContext } from '@pg-ha/deploy/cluster'
import { findVm } from '@pg-ha/deploy/lab'

const deployScripts = path.join(path.dirname(createRequire(import.meta.url).resolve('@pg-ha/deploy/package.json')), 'scripts')

/**
 * @typedef {object} MonitorNode the monitor's view of one node (cluster-health.mjs)
 * @property {string} name
 * @property {string} host
 * @property {number} port
 * @property {string} reported_state
 * @property {string} assigned_state
 * @property {number} health
 * @property {number} tli
 */

/** @param {string} inventoryFile */
export async function openFaultKit(inventoryFile) {
  const ctx = await loadClusterContext(inventoryFile)
  const { inventory, runtime, transport } = ctx
  const lab = inventory.transport === 'netns' ? labOfInventory(inventory, inventory.file, 'drill') : null

  /** @returns {Promise<MonitorNode[]>} */
  const nodes = () => runtime.clusterNodes()
  /** The inventory host of a monitor row. @param {{name: string}} node */
  const hostOf = (node) => {
    const host = inventory.nodes.find((h) => h.nodeName === node.name)
    if (!host) throw new Error(`node ${node.name} is in the monitor's formation but not in the inventory`)
    return host
  }

  return {
    inventory,
    runtime,
    transport,
    lab,
    nodes,
    hostOf,
    /** The node the monitor lets take writes, or null. */
    async primary() {
      const writable = (await nodes()).filter((n) => CAN_TAKE_WRITES.has(n.assigned_state) && n.reported_state === n.assigned_state)
      return writable.length === 1 ? /** @type {MonitorNode} */ (writable[0]) : null
    },
    /** The lab VM (vm1, ...) a host lives on. @param {{labVm?: string}} host */
    vmOf(host) {
      if (!lab || !host.labVm) throw new Error('this fault needs the lab (transport netns)')
      return findVm(lab, host.labVm).vm
    },
    /** Runs one of the day-2 scripts on this inventory, its output on stderr. @param {string} script @param {string[]} args */
    async script(script, args = []) {
      await $({ stdio: ['ignore', 2, 'inherit'] })`node ${path.join(deployScripts, script)} --inventory ${inventory.file} ${args}`
    },
    /** Runs a command as root on a host (the VM's namespace, or ssh with sudo). @param {Parameters<typeof transport.run>[0]} host @param {string[]} argv @param {string} [input] */
    async root(host, argv, input) {
      const out = await transport.run(host, argv, { user: 'root', input })
      if (out.exitCode !== 0)
        throw new Error(
          `${argv.join(' ')} on ${host.host} exited ${out.exitCode}: ${(out.stderr || out.stdout).trim().split('\n').slice(-2).join(' | ')}`,
        )
      return out
    },
    async close() {
      await transport.close?.()
    },
  }
}

/** @typedef {Awaited<ReturnType<typeof openFaultKit>>} FaultKit */
