// Where a lab lives and how it is addressed. One lab = one bridge + N namespaces ("VMs").
// Settings resolve as: explicit option > PGHA_LAB_* environment > default.
import path from 'node:path'

export const DEFAULT_LAB_NAME = 'pgha'
export const DEFAULT_LAB_SUBNET = '10.213.37.0/24'
export const DEFAULT_VM_COUNT = 3
export const LAB_ROOT = '/var/lib/pgha-lab'

export class LabConfigError extends Error {
  constructor(message, key) {
    super(message)
    this.name = 'LabConfigError'
    this.code = 'LAB_CONFIG_INVALID'
    this.key = key
  }
}

/**
 * @param {{name?: string, subnet?: string, vms?: number|string}} [options]
 * @param {NodeJS.ProcessEnv} [env]
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
      // Each VM sees its own copy of these paths, as a real host would.
      mounts: {
        '/var/lib/postgresql': path.join(root, 'home'),
        '/var/run/postgresql': path.join(root, 'run'),
        '/tmp': path.join(root, 'tmp'),
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

/** @param {ReturnType<typeof resolveLabConfig>} lab @param {string} vmName */
export function findVm(lab, vmName) {
  const vm = lab.vms.find((candidate) => candidate.vm === vmName)
  if (!vm) {
    throw new LabConfigError(`unknown VM "${vmName}" in lab "${lab.name}": expected one of ${lab.vms.map((v) => v.vm).join(', ')}`, 'vm')
  }
  return vm
}
