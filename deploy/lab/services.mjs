// The lab's stand-in for systemd inside a VM: a service is a JSON spec in the VM's
// services/ dir; "enabled" services are started again when the VM restarts, and, as with the
// units bring-up installs on real VMs (Restart=always, RestartSec=1), a service that exits is
// started again a second later until it is stopped.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import { openSync, closeSync } from 'node:fs'
import path from 'node:path'
import { vmCommand } from './vm-exec.mjs'
import { errorCode } from '../lib/error-message.mjs'

/** @typedef {{name: string, user: string, argv: string[], env?: Record<string, string>}} ServiceSpec */
/** @typedef {import('./lab-config.mjs').LabVm} LabVm */

// Restart=always: the service runs in the foreground of this shell. stopService sends TERM to
// both (the service alone is signalled, as before, not its own children); the shell's trap runs
// once the service has exited, and ends the loop. Without it, a keeper that gives up (pg_autoctl exits when its
// node-active service restarts 5 times in a second, e.g. while the monitor is down) stayed down
// in the lab where systemd would have started it again.
const SUPERVISE = 'trap "exit 0" TERM INT; while :; do "$@"; sleep 1; done'

/** @param {LabVm} vm @param {string} name */
const specPath = (vm, name) => path.join(vm.servicesDir, `${name}.json`)
/** @param {LabVm} vm @param {string} name */
const pidPath = (vm, name) => path.join(vm.servicesDir, `${name}.pid`)

/** @param {LabVm} vm @param {ServiceSpec} spec */
export async function registerService(vm, spec) {
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(spec.name)) throw new Error(`invalid service name "${spec.name}"`)
  await fs.mkdir(vm.servicesDir, { recursive: true })
  await fs.writeFile(specPath(vm, spec.name), JSON.stringify(spec, null, 2) + '\n', { mode: 0o600 })
}

/** @param {LabVm} vm @returns {Promise<ServiceSpec[]>} */
export async function listServices(vm) {
  const files = await fs.readdir(vm.servicesDir).catch(() => [])
  /** @type {ServiceSpec[]} */
  const specs = []
  for (const file of files.filter((f) => f.endsWith('.json')).sort()) {
    specs.push(JSON.parse(await fs.readFile(path.join(vm.servicesDir, file), 'utf8')))
  }
  return specs
}

/** @param {LabVm} vm @param {string} name @returns {Promise<ServiceSpec>} */
async function readSpec(vm, name) {
  try {
    return JSON.parse(await fs.readFile(specPath(vm, name), 'utf8'))
  } catch (error) {
    if (errorCode(error) === 'ENOENT') throw new Error(`no service "${name}" on ${vm.vm}`, { cause: error })
    throw error
  }
}

/** The service's pid when it runs, else null. @param {LabVm} vm @param {string} name @returns {Promise<number | null>} */
export async function servicePid(vm, name) {
  const pid = Number((await fs.readFile(pidPath(vm, name), 'utf8').catch(() => '')).trim())
  if (!pid) return null
  const spec = await readSpec(vm, name).catch(() => null)
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null)
  if (cmdline === null || !spec) return null
  const [command] = spec.argv
  if (command === undefined) throw new Error(`service "${name}" on ${vm.vm} has no command (its argv is empty)`)
  const program = path.basename(command)
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const zombie = / Z /.test(stat.slice(stat.lastIndexOf(')')))
  // Daemons that retitle themselves (sshd, postgres) keep "<program>: ..." as their first word.
  const ours = cmdline.split('\0').some((arg) => path.basename(arg) === program) || cmdline.startsWith(`${program}:`)
  return !zombie && ours ? pid : null
}

/**
 * Starts a registered service unless it already runs.
 * @param {LabVm} vm @param {string} name @returns {Promise<boolean>} true when started
 */
export async function startService(vm, name) {
  if (await servicePid(vm, name)) return false
  const spec = await readSpec(vm, name)
  const argv = vmCommand(vm, ['sh', '-c', SUPERVISE, `service-${name}`, ...spec.argv], { user: spec.user, env: spec.env })
  await fs.mkdir(vm.logDir, { recursive: true })
  const log = openSync(path.join(vm.logDir, `${name}.log`), 'a', 0o600)
  try {
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] })
    await fs.writeFile(pidPath(vm, name), `${child.pid}\n`)
    child.unref()
  } finally {
    closeSync(log)
  }
  return true
}

/**
 * Stops a service with SIGTERM, then SIGKILL after `timeoutMs`.
 * @param {LabVm} vm @param {string} name @param {{timeoutMs?: number}} [options]
 * @returns {Promise<boolean>} true when it was running
 */
export async function stopService(vm, name, { timeoutMs = 30_000 } = {}) {
  const pid = await servicePid(vm, name)
  if (!pid) return false
  const kill = (/** @type {number} */ target, /** @type {NodeJS.Signals} */ sig) => {
    try {
      process.kill(target, sig)
    } catch {
      /* exited meanwhile */
    }
  }
  // The supervising shell, then the service it runs (its child).
  kill(pid, 'SIGTERM')
  for (const child of await childPids(pid)) kill(child, 'SIGTERM')
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!(await servicePid(vm, name))) return true
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  // Spawned detached, the shell leads the process group the service runs in.
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    kill(pid, 'SIGKILL')
  }
  return true
}

/** @param {number} pid */
async function childPids(pid) {
  const text = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')
  return text.split(/\s+/).filter(Boolean).map(Number)
}

/** Stops a service and forgets it. @param {LabVm} vm @param {string} name */
export async function removeService(vm, name) {
  await stopService(vm, name)
  await fs.rm(specPath(vm, name), { force: true })
  await fs.rm(pidPath(vm, name), { force: true })
}
