// The faults a lab VM takes: one registry that the lab CLI (validation, usage, dispatch), the
// benchmarks, the test helpers and the drills all read. Each fault acts on one VM the way it
// would on a real host; `undo` names the fault that brings the VM back.
import { crashPostgres, heal, isolate, partition, powerOff, restart } from './lab.mjs'
import { killContainer } from './docker-engine.mjs'

/** @typedef {import('./lab.mjs').Lab} Lab */
/**
 * @typedef {{port?: number, container?: string}} FaultOptions port: the data node's Postgres port
 *   (crash-postgres); container: a container's name (docker-kill)
 */
/**
 * @typedef {object} Fault
 * @property {string} summary what it does to the VM, for usage and reports
 * @property {'restart' | 'heal'} [undo] the fault that brings the VM back (none: it recovers by itself)
 * @property {'port' | 'container'} [needs] an option the fault cannot do without
 * @property {(lab: Lab, vm: string, options: FaultOptions) => Promise<string>} apply returns what was done, for logs
 */

const DEFINITIONS = /** @satisfies {Record<string, Fault>} */ ({
  'power-off': {
    summary: 'link down and every process SIGKILLed, as if the power cord were pulled',
    undo: 'restart',
    apply: async (lab, vm) => (await powerOff(lab, vm), `${vm} powered off`),
  },
  partition: {
    summary: 'link down, processes keep running',
    undo: 'heal',
    apply: async (lab, vm) => (await partition(lab, vm), `${vm} partitioned`),
  },
  isolate: {
    summary: 'cut off from the other VMs, the host still reaches it',
    undo: 'heal',
    apply: async (lab, vm) => (await isolate(lab, vm), `${vm} isolated from the other VMs (the host still reaches it)`),
  },
  heal: {
    summary: 'undoes partition and isolate',
    apply: async (lab, vm) => (await heal(lab, vm), `${vm} healed`),
  },
  restart: {
    summary: 'power back on: link up and every registered service started again',
    apply: async (lab, vm) => {
      const started = await restart(lab, vm)
      return `${vm} restarted${started.length ? `; started ${started.join(', ')}` : ''}`
    },
  },
  'crash-postgres': {
    summary: 'the postmaster on --port SIGKILLed, its keeper alive (it restarts Postgres)',
    needs: 'port',
    apply: async (lab, vm, { port }) => {
      if (port === undefined) throw new Error("crash-postgres needs the data node's Postgres port")
      const pid = await crashPostgres(lab, vm, { port })
      return `${vm}: postmaster ${pid} on port ${port} killed`
    },
  },
  'docker-kill': {
    summary: "the --container's main process SIGKILLed (a crash, not a stop: its restart policy applies)",
    needs: 'container',
    apply: async (lab, vm, { container }) => {
      if (container === undefined) throw new Error('docker-kill needs the name of a container on the VM')
      const pid = await killContainer(lab, vm, container)
      return `${vm}: container ${container} (pid ${pid}) killed`
    },
  },
})

/** @typedef {keyof typeof DEFINITIONS} FaultName */

/** @type {Readonly<Record<FaultName, Fault>>} */
export const FAULTS = DEFINITIONS

export const FAULT_NAMES = /** @type {FaultName[]} */ (Object.keys(FAULTS))

/** @param {string} name @returns {name is FaultName} */
export const isFaultName = (name) => Object.hasOwn(FAULTS, name)

/**
 * Injects fault `name` into `vm`. @param {Lab} lab @param {FaultName} name @param {string} vm
 * @param {FaultOptions} [options] @returns {Promise<string>} what was done
 */
export async function injectFault(lab, name, vm, options = {}) {
  if (!isFaultName(name)) throw new Error(`unknown fault "${name}" (one of ${FAULT_NAMES.join(', ')})`)
  return FAULTS[name].apply(lab, vm, options)
}
