// A 3-VM lab on one Linux host: VMs are network namespaces on a bridge, each with private
// Postgres directories. Faults act on one VM the way they would on a real host.
import fs from 'node:fs/promises'
import { $ } from 'zx'
import { findVm } from './lab-config.mjs'
import {
  createNetwork,
  destroyNetwork,
  ensureSubnetFree,
  isolateVm,
  killNamespace,
  listNamespaces,
  namespacePids,
  releaseVm,
  setVmLink,
  vmIsolated,
  vmLinkState,
} from './network.mjs'
import { listServices, servicePid, startService } from './services.mjs'
import { startLabSshd } from './sshd.mjs'
import { startLabDocker } from './docker-engine.mjs'
import { ensureDebianPackages } from '../lib/ensure-packages.mjs'
import { unmountUnder } from '../lib/mounts.mjs'

export const LAB_PACKAGES = [
  'postgresql-15',
  'postgresql-15-auto-failover',
  'pg-auto-failover-cli',
  'pgbackrest',
  'iproute2',
  'util-linux',
  'procps',
  'nftables',
]

/** @typedef {import('./lab-config.mjs').Lab} Lab */
/** @typedef {import('./lab-config.mjs').LabVm} LabVm */

/**
 * Cleans leftovers of any earlier run, then builds the lab from nothing.
 * @param {Lab} lab
 * @param {{log?: (line: string) => void, sshd?: boolean, docker?: boolean, images?: string[]}} [options]
 *   sshd: an sshd in every VM (lab/sshd.mjs); docker: a dockerd in every VM with `images` (docker
 *   save archives) loaded into each (lab/docker-engine.mjs)
 */
export async function labUp(lab, { log = () => {}, sshd = false, docker = false, images = [] } = {}) {
  if (!docker && images.length > 0) throw new Error("image archives are loaded into the VMs' dockerd: they need the docker option")
  await ensureDebianPackages(LAB_PACKAGES, { log })
  await labDown(lab)
  await ensureSubnetFree(lab)
  // Mount points the VMs' private directories are bound over (the host's /var/lib/docker may not exist).
  for (const target of Object.keys(lab.vms[0]?.mounts ?? {})) await fs.mkdir(target, { recursive: true })
  for (const vm of lab.vms) {
    await fs.mkdir(vm.mounts['/var/lib/postgresql'], { recursive: true })
    await $`chown postgres:postgres ${vm.mounts['/var/lib/postgresql']}`
    await fs.mkdir(vm.mounts['/tmp'], { recursive: true })
    await fs.chmod(vm.mounts['/tmp'], 0o1777)
    await fs.mkdir(vm.mounts['/var/lib/docker'], { recursive: true, mode: 0o710 })
    await fs.mkdir(vm.mounts['/opt/pg-ha-kit'], { recursive: true, mode: 0o755 })
    await resetVmRun(vm)
    await fs.mkdir(vm.servicesDir, { recursive: true, mode: 0o700 })
    await fs.mkdir(vm.logDir, { recursive: true, mode: 0o700 })
  }
  await fs.writeFile(
    `${lab.dir}/lab.json`,
    JSON.stringify({ name: lab.name, subnet: lab.subnet, vms: lab.vms.map(({ vm, address }) => ({ vm, address })) }, null, 2) + '\n',
  )
  await createNetwork(lab)
  log(`lab ${lab.name} up: ${lab.vms.map((vm) => `${vm.vm}=${vm.address}`).join(' ')} on ${lab.bridge}`)
  if (sshd) await startLabSshd(lab, { log })
  if (docker) await startLabDocker(lab, { images, log })
}

/**
 * The VM's /run as a boot leaves it: empty but for the directories packages' boot scripts make
 * (Postgres' socket directory, sshd's privilege separation, /run/lock).
 * @param {LabVm} vm
 */
async function resetVmRun(vm) {
  const run = vm.mounts['/run']
  await fs.rm(run, { recursive: true, force: true })
  await fs.mkdir(run, { recursive: true, mode: 0o755 })
  await fs.chmod(run, 0o755)
  await fs.mkdir(`${run}/postgresql`)
  await $`chown postgres:postgres ${run}/postgresql`
  await fs.chmod(`${run}/postgresql`, 0o2775)
  await fs.mkdir(`${run}/sshd`, { mode: 0o755 })
  await fs.mkdir(`${run}/lock`)
  await fs.chmod(`${run}/lock`, 0o1777)
}

/** Leaves no namespace, bridge, process or directory behind. Idempotent. @param {Lab} lab */
export async function labDown(lab) {
  await destroyNetwork(lab)
  // Processes are gone, so are their mount namespaces; a mount made from the host would stay.
  await unmountUnder(lab.dir)
  await fs.rm(lab.dir, { recursive: true, force: true })
}

/** @param {Lab} lab */
export async function labStatus(lab) {
  const namespaces = new Set(await listNamespaces())
  const vms = []
  for (const vm of lab.vms) {
    const present = namespaces.has(vm.netns)
    const services = []
    for (const spec of present ? await listServices(vm) : []) {
      services.push({ name: spec.name, pid: await servicePid(vm, spec.name) })
    }
    vms.push({
      vm: vm.vm,
      netns: vm.netns,
      address: vm.address,
      link: present ? await vmLinkState(vm.netns) : 'absent',
      isolated: present ? await vmIsolated(vm.netns) : false,
      processes: present ? (await namespacePids(vm.netns)).length : 0,
      services,
    })
  }
  return { name: lab.name, subnet: lab.subnet, bridge: lab.bridge, vms }
}

/** @param {Lab} lab @param {string} vmName */
async function requireVm(lab, vmName) {
  const vm = findVm(lab, vmName)
  if (!(await listNamespaces()).includes(vm.netns)) throw new Error(`${vm.vm} of lab ${lab.name} does not exist; run "lab up" first`)
  return vm
}

/**
 * Link down and every process SIGKILLed, as if the power cord were pulled; the VM's /run is
 * emptied as the next boot would find it (no stale pid file of dockerd or a socket lock of Postgres).
 * @param {Lab} lab @param {string} vmName
 */
export async function powerOff(lab, vmName) {
  const vm = await requireVm(lab, vmName)
  await setVmLink(vm.netns, 'down')
  await killNamespace(vm.netns)
  await resetVmRun(vm)
}

/** Link down, processes keep running. @param {Lab} lab @param {string} vmName */
export async function partition(lab, vmName) {
  const vm = await requireVm(lab, vmName)
  await setVmLink(vm.netns, 'down')
}

/**
 * Cut off from the other VMs (packets dropped both ways) while the host still reaches it: the
 * isolated primary an application can still write to. Processes keep running.
 * @param {Lab} lab @param {string} vmName
 */
export async function isolate(lab, vmName) {
  const vm = await requireVm(lab, vmName)
  await isolateVm(vm.netns, lab)
}

/** Undoes partition and isolate. @param {Lab} lab @param {string} vmName */
export async function heal(lab, vmName) {
  const vm = await requireVm(lab, vmName)
  await releaseVm(vm.netns)
  await setVmLink(vm.netns, 'up')
}

/**
 * Power back on: link up and every registered service started again.
 * @param {Lab} lab @param {string} vmName @returns {Promise<string[]>} services started
 */
export async function restart(lab, vmName) {
  const vm = await requireVm(lab, vmName)
  await releaseVm(vm.netns)
  await setVmLink(vm.netns, 'up')
  const started = []
  for (const spec of await listServices(vm)) {
    if (await startService(vm, spec.name)) started.push(spec.name)
  }
  return started
}

/**
 * SIGKILL the postmaster listening on `port` (the keeper stays alive and restarts it).
 * @param {Lab} lab @param {string} vmName @param {{port: number}} options
 * @returns {Promise<number>} the killed pid
 */
export async function crashPostgres(lab, vmName, { port }) {
  const vm = await requireVm(lab, vmName)
  const pids = new Set(await namespacePids(vm.netns))
  for (const pid of pids) {
    const exe = await fs.readlink(`/proc/${pid}/exe`).catch(() => '')
    if (!exe.endsWith('/bin/postgres')) continue
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (pids.has(ppid) && (await fs.readlink(`/proc/${ppid}/exe`).catch(() => '')).endsWith('/bin/postgres')) continue
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    const portIndex = argv.indexOf('-p')
    const listens = portIndex >= 0 ? Number(argv[portIndex + 1]) : await postmasterPortFromPidFile(vm, argv)
    if (listens !== port) continue
    process.kill(pid, 'SIGKILL')
    return pid
  }
  throw new Error(`no postmaster listening on port ${port} runs on ${vm.vm}`)
}

/** @param {LabVm} vm @param {string[]} argv the postmaster's @returns {Promise<number | undefined>} */
async function postmasterPortFromPidFile(vm, argv) {
  const dataIndex = argv.indexOf('-D')
  const pgdata = dataIndex >= 0 ? argv[dataIndex + 1] : undefined
  if (!pgdata) return undefined
  const home = vm.mounts['/var/lib/postgresql']
  const hostPath = pgdata.startsWith('/var/lib/postgresql/') ? `${home}${pgdata.slice('/var/lib/postgresql'.length)}` : pgdata
  const lines = (await fs.readFile(`${hostPath}/postmaster.pid`, 'utf8').catch(() => '')).split('\n')
  return Number(lines[3])
}
