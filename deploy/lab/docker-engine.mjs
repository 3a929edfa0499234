// A Docker engine per lab VM, as on the users' VMs: dockerd runs inside the VM's namespace at its
// default paths (socket /var/run/docker.sock, exec root /var/run/docker, data root
// /var/lib/docker), which the VM's own /run and /var/lib/docker make private to it, so the VM's
// `docker` and `docker-compose` find it with no setting, over netns and over ssh alike. Host
// networking only: no bridge, no iptables. It is a lab service, so a power-off kills it with its
// containers and a restart starts it again, and then `restart: unless-stopped` brings the
// containers back, as on a rebooted VM. Images come from archives (`docker save`) loaded into
// every VM's daemon, never built per VM.
import fs from 'node:fs/promises'
import { $ } from 'zx'
import { findVm } from './lab-config.mjs'
import { registerService, servicePid, startService } from './services.mjs'
import { vmCommand } from './vm-exec.mjs'
import { waitFor } from '../lib/wait-for.mjs'
import { ensureDebianPackages } from '../lib/ensure-packages.mjs'

export const DOCKER_PACKAGES = ['docker.io', 'docker-compose']
export const DOCKERD_SERVICE = 'dockerd'

/** @typedef {import('./lab-config.mjs').Lab} Lab */
/** @typedef {import('./lab-config.mjs').LabVm} LabVm */

/** `docker <argv>` inside the VM, as root. @param {LabVm} vm @param {string[]} argv @param {{timeoutMs?: number}} [options] */
export async function vmDocker(vm, argv, { timeoutMs = 120_000 } = {}) {
  return $({ quiet: true, nothrow: true, timeout: timeoutMs })`${vmCommand(vm, ['docker', ...argv])}`
}

/** Does the VM's daemon answer? @param {LabVm} vm */
export async function vmDockerAnswers(vm) {
  const out = await vmDocker(vm, ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 })
  return out.exitCode === 0 && out.stdout.trim() !== ''
}

/**
 * A dockerd in every VM, registered as a lab service, each answering; then every archive in
 * `images` loaded into each (a VM whose daemon already holds an archive's images loads it again:
 * `docker load` of layers it has is quick).
 * @param {Lab} lab @param {{images?: string[], log?: (line: string) => void}} [options]
 */
export async function startLabDocker(lab, { images = [], log = () => {} } = {}) {
  await ensureDebianPackages(DOCKER_PACKAGES, { log, startServices: false })
  for (const archive of images) {
    if (!(await fs.stat(archive).catch(() => null))?.isFile()) throw new Error(`image archive ${archive} does not exist`)
  }
  for (const vm of lab.vms) {
    await registerService(vm, {
      name: DOCKERD_SERVICE,
      user: 'root',
      argv: ['dockerd', '--bridge=none', '--iptables=false', '--log-level=warn'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    })
    await startService(vm, DOCKERD_SERVICE)
  }
  for (const vm of lab.vms) {
    await waitFor(() => vmDockerAnswers(vm), {
      timeoutMs: 60_000,
      what: `dockerd on ${vm.vm} (its log: ${vm.logDir}/${DOCKERD_SERVICE}.log)`,
    })
  }
  log(`dockerd on ${lab.vms.map((vm) => vm.vm).join(' ')}`)
  for (const archive of images) {
    const started = performance.now()
    await Promise.all(
      lab.vms.map(async (vm) => {
        const out = await vmDocker(vm, ['load', '--quiet', '--input', archive], { timeoutMs: 600_000 })
        if (out.exitCode !== 0) throw new Error(`docker load ${archive} on ${vm.vm} failed: ${out.stderr.trim() || out.stdout.trim()}`)
      }),
    )
    log(`loaded ${archive} into every VM's dockerd in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

/** Whether the VM runs a lab dockerd. @param {LabVm} vm */
export async function vmRunsDocker(vm) {
  return (await servicePid(vm, DOCKERD_SERVICE)) !== null
}

/**
 * SIGKILLs a container's main process from outside, as the kernel's OOM killer or a crash would:
 * unlike `docker kill` (a deliberate stop), its restart policy then applies.
 * @param {Lab} lab @param {string} vmName @param {string} container
 * @returns {Promise<number>} the killed pid
 */
export async function killContainer(lab, vmName, container) {
  const vm = findVm(lab, vmName)
  if (!(await vmDockerAnswers(vm))) throw new Error(`no dockerd answers on ${vm.vm}: start the lab with "lab up --docker"`)
  const out = await vmDocker(vm, ['inspect', '--format', '{{.State.Running}} {{.State.Pid}}', container])
  if (out.exitCode !== 0) throw new Error(`no container "${container}" on ${vm.vm}: ${out.stderr.trim()}`)
  const [running, pidText] = out.stdout.trim().split(' ')
  const pid = Number(pidText)
  if (running !== 'true' || !pid) throw new Error(`container "${container}" on ${vm.vm} is not running`)
  process.kill(pid, 'SIGKILL')
  return pid
}
