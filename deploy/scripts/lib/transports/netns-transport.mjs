// Transport "netns": the hosts are VMs of a lab on this machine (deploy/lab). Commands run
// inside the VM's namespace with its private directories; services use the lab's registry.
import { $ } from 'zx'
import { findVm, resolveLabConfig } from '../../../lab/lab-config.mjs'
import { listNamespaces } from '../../../lab/network.mjs'
import { registerService, removeService, servicePid, startService, stopService } from '../../../lab/services.mjs'
import { vmCommand } from '../../../lab/vm-exec.mjs'

/** @typedef {import('./transport.mjs').Host} Host */

/**
 * @param {Pick<import('../inventory.mjs').Inventory, 'labName'>} inventory
 * @returns {import('./transport.mjs').Transport}
 */
export function createNetnsTransport(inventory) {
  const lab = resolveLabConfig({ name: inventory.labName })
  /** The host's VM (the inventory requires lab_vm on every host with this transport). @param {Host} host */
  const vmOf = (host) => {
    if (host.labVm === undefined) throw new Error(`${host.host} has no lab_vm: transport "netns" needs one on every host`)
    return findVm(lab, host.labVm)
  }

  return {
    name: 'netns',
    /** How a command reaches a host, for --check. */
    describe(host) {
      return `ip netns exec ${vmOf(host).netns} <command>, with the VM's private directories mounted (lab ${lab.name}); another user's command through setpriv`
    },
    describeReachability(host) {
      return `lab ${lab.name} has ${host.labVm} (namespace ${vmOf(host).netns})`
    },
    describeService(spec) {
      const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`)
      return `lab service as ${spec.user}: ${[...env, ...spec.argv].join(' ')}`
    },
    async ensureReachable(hosts) {
      const namespaces = new Set(await listNamespaces())
      const missing = hosts.filter((host) => !namespaces.has(vmOf(host).netns))
      if (missing.length > 0) {
        throw new Error(
          `lab ${lab.name} has no VM for ${missing.map((h) => `${h.host} (${h.labVm})`).join(', ')}; run "lab up --name ${lab.name}" first`,
        )
      }
    },
    /** @param {Host} host @param {string[]} argv @param {import('./transport.mjs').RunOptions} [options] */
    async run(host, argv, { user, env, input } = {}) {
      const command = vmCommand(vmOf(host), argv, { user, env })
      const out = await $({ input, quiet: true, nothrow: true })`${command}`
      return { exitCode: out.exitCode ?? 1, stdout: out.stdout, stderr: out.stderr }
    },
    async ensureService(host, spec) {
      const vm = vmOf(host)
      await registerService(vm, spec)
      return startService(vm, spec.name)
    },
    async serviceRunning(host, name) {
      return (await servicePid(vmOf(host), name)) !== null
    },
    async stopService(host, name) {
      return stopService(vmOf(host), name)
    },
    async removeService(host, name) {
      await removeService(vmOf(host), name)
    },
  }
}
