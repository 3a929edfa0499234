// Where a lab lives and how it is addressed. One lab = one bridge + N namespaces ("VMs").
// Settings resolve as: explicit option > PGHA_LAB_* environment > default.
import path from 'node:path'

export const DEFAULT_LAB_NAME = 'pgha'
export const DEFAULT_LAB_SUBNET = '10.213.37.0/24'
export const DEFAULT_VM_COUNT = 3
export const LAB_ROOT = '/var/lib/pgha-lab'

export class LabConfigError extends Error {
  /** @param {string} message @param {string} key the setting at fault: name, subnet, vms or vm */
  constructor(message, key) {
    super(message)
    this.name = 'LabConfigError'
    this.code = 'LAB_CONFIG_INVALID'
    this.key = key
  }
}

/**
 * @typedef {object} LabVm one VM of a lab
 * @property {string} vm its name: vm1, vm2, ...
 * @property {string} netns its network namespace
 * @property {string} hostVeth the host end of its veth pair (on the lab's bridge)
 * @property {string} address its IPv4 address on the lab's subnet
 * @property {string} root the host directory holding the VM's own files
 * @property {{'/run': string, '/var/lib/postgresql': string, '/tmp': string, '/var/lib/docker': string, '/opt/pg-ha-kit': string}} mounts
 *   the host directory bind-mounted over each shared path inside the VM, in mount order; /run is
 *   emptied at power-off, as a reboot empties it
 * @property {string} servicesDir its registered services (lab/services.mjs)
 * @property {string} logDir its services' logs
 */

/**
 * @typedef {object} Lab one bridge and its VMs (network namespaces), on one host
 * @property {string} name
 * @property {string} subnet an IPv4 /24, e.g. 10.213.37.0/24
 * @property {string} prefix the subnet's first three octets, e.g. 10.213.37
 * @property {string} dir the host directory holding the lab's files
 * @property {string} bridge
 * @property {string} gateway the bridge's address, the host as the VMs see it
 * @property {LabVm[]} vms
 */

/**
 * @param {{name?: string, subnet?: string, vms?: number|string}} [options]
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Lab}
 */
export function resolveLabConfig(options = {}, env = process.env) {
  const name = options.name ?? env.PGHA_LAB_NAME ?? DEFAULT_LAB_NAME
  const subnet = options.subnet ?? env.PGHA_LAB_SUBNET ?? DEFAULT_LAB_SUBNET
  const vmCount = Number(options.vms ?? env.PGHA_LAB_VMS ?? DEFAULT_VM_COUNT)

  // Interface names are capped at 15 characters: "<name>-vm9" and "<name>-br" must fit.
  if (!/^[a-z][a-z0-9]{0,9}$/.test(name)) {
    throw new LabConfigError(`lab name "${name}" is invalid: use 1-10 lowercase letters or digits, starting with a letter`, 'name')
  }
  if (!Number.isInteger(vmCount) || vmCount < 1 || vmCount > 9) {
    throw new LabConfigError(`lab vm count "${options.vms ?? env.PGHA_LAB_VMS}" is invalid: use an integer from 1 to 9`, 'vms')
  }
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet)
  if (!match || match.slice(1).some((octet) => Number(octet) > 255)) {
    throw new LabConfigError(`lab subnet "${subnet}" is invalid: use an IPv4 /24 such as ${DEFAULT_LAB_SUBNET}`, 'subnet')
  }
  const prefix = match.slice(1, 4).join('.')
  const dir = path.join(LAB_ROOT, name)
  const vms = Array.from({ length: vmCount }, (_, i) => {
    const vm = `vm${i + 1}`
    const root = path.join(dir, vm)
    return {
      vm,
      netns: `${name}-${vm}`,
      hostVeth: `${name}-${vm}`,
      address: `${prefix}.${11 + i}`,
      root,
      // Each VM sees its own copy of these paths, as a real host would: its own /run (Postgres'
      // sockets, sshd's privilege separation, a VM's dockerd socket, pid file and exec root at
      // their default paths), its own Docker data root and its own compose projects (docker_dir).
      mounts: {
        '/run': path.join(root, 'run'),
        '/var/lib/postgresql': path.join(root, 'home'),
        '/tmp': path.join(root, 'tmp'),
        '/var/lib/docker': path.join(root, 'docker'),
        '/opt/pg-ha-kit': path.join(root, 'opt-pg-ha-kit'),
      },
      servicesDir: path.join(root, 'services'),
      logDir: path.join(root, 'log'),
    }
  })
  return {
    name,
    subnet,
    prefix,
    dir,
    bridge: `${name}-br`,
    gateway: `${prefix}.1`,
    vms,
  }
}

/** @param {Lab} lab @param {string} vmName @returns {LabVm} */
export function findVm(lab, vmName) {
  const vm = lab.vms.find((candidate) => candidate.vm === vmName)
  if (!vm) {
    throw new LabConfigError(`unknown VM "${vmName}" in lab "${lab.name}": expected one of ${lab.vms.map((v) => v.vm).join(', ')}`, 'vm')
  }
  return vm
}
