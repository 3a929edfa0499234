#!/usr/bin/env node
// lab: a 3-VM lab on one host.
//   lab up [--sshd] [--docker [--image <archive>]...] | down | status [--json]
//     (--sshd: an sshd in every VM, see sshd.mjs; --docker: a dockerd in every VM with each
//     `docker save` archive loaded, see docker-engine.mjs)
//   lab <fault> <vm>   (the faults of faults.mjs: power-off, partition, isolate, heal, restart,
//                       crash-postgres --port, docker-kill --container)
//   lab exec <vm> [--user U] -- <command...>   (a shell on the VM, as ssh would give one)
// Options: --name <lab> --subnet <a.b.c.0/24> --vms <n> (or PGHA_LAB_NAME, PGHA_LAB_SUBNET, PGHA_LAB_VMS)
import { spawnSync } from 'node:child_process'
import { findVm, resolveLabConfig } from './lab-config.mjs'
import { vmCommand } from './vm-exec.mjs'
import { FAULTS, FAULT_NAMES, injectFault, isFaultName } from './faults.mjs'
import { labDown, labStatus, labUp } from './lab.mjs'
import { parseOptions, tcpPortOption } from '../lib/cli-options.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { errorCode, errorMessage } from '../lib/error-message.mjs'
import { exitOn } from '../lib/errors.mjs'

const USAGE = `usage: lab <up|down|status> [--name N] [--subnet S] [--vms N] [--json] [--sshd] [--docker [--image <archive>]...]
       lab <fault> <vm> [--name N] [--subnet S] [--vms N]
       lab crash-postgres <vm> --port <the data node's Postgres port>
       lab docker-kill <vm> --container <name>
       lab exec <vm> [--user U] -- <command...>
faults:
${Object.entries(FAULTS)
  .map(([name, fault]) => `  ${name.padEnd(15)}${fault.summary}`)
  .join('\n')}`
const VM_COMMANDS = new Set([...FAULT_NAMES, 'exec'])
const LAB_COMMANDS = new Set(['up', 'down', 'status'])

/** @param {string} message @returns {never} */
function usageError(message) {
  process.stderr.write(`lab: ${message}\n${USAGE}\n`)
  process.exit(2)
}

/** @type {{values: Record<string, any>, positionals: string[], rest: string[] | undefined}} */
let parsed = { values: {}, positionals: [], rest: undefined }
try {
  parsed = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: {
      name: { type: 'string' },
      subnet: { type: 'string' },
      vms: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      json: { type: 'boolean' },
      sshd: { type: 'boolean' },
      docker: { type: 'boolean' },
      image: { type: 'string', multiple: true },
      container: { type: 'string' },
    },
    positionals: true,
    rest: true,
  })
} catch (error) {
  usageError(errorMessage(error).split(';')[0] ?? '')
}
const args = parsed.values
const [command, vmName, ...extra] = parsed.positionals
if (!command || (!LAB_COMMANDS.has(command) && !VM_COMMANDS.has(command)))
  usageError(command ? `unknown command "${command}"` : 'missing command')
if (VM_COMMANDS.has(command) && !vmName) usageError(`"${command}" needs a VM name (vm1, vm2, ...)`)
if ((LAB_COMMANDS.has(command) && vmName) || extra.length > 0)
  usageError(`unexpected argument "${LAB_COMMANDS.has(command) ? vmName : extra[0]}"`)
const execArgv = parsed.rest ?? []
if (command === 'exec' && execArgv.length === 0) usageError('"exec" needs a command after --')
if (command !== 'exec' && (execArgv.length > 0 || args.user !== undefined)) usageError(`"${command}" takes no command and no --user`)
for (const flag of /** @type {const} */ (['sshd', 'docker', 'image'])) {
  if (command !== 'up' && args[flag] !== undefined) usageError(`--${flag} goes with "up" only`)
}
if (args.image !== undefined && !args.docker) usageError("--image archives are loaded into the VMs' dockerd: add --docker")
const fault = isFaultName(command) ? FAULTS[command] : undefined
for (const option of /** @type {const} */ (['port', 'container'])) {
  if (fault?.needs !== option && args[option] !== undefined)
    usageError(
      `--${option} goes with ${FAULT_NAMES.filter((name) => FAULTS[name].needs === option)
        .map((name) => `"${name}"`)
        .join(', ')} only`,
    )
}
const needsPort = fault?.needs === 'port'
if (fault?.needs === 'container' && !args.container) usageError(`"${command}" needs --container, the name of a container on the VM`)
// No default: in the users' layout (deploy/inventory/lab.yml) 5432 on vm3 is the monitor.
if (needsPort && args.port === undefined) {
  usageError(
    `"${command}" needs --port, the data node's Postgres port (deploy/inventory/lab.yml: 5432 on vm1 and vm2, 5433 on vm3, whose 5432 is the monitor)`,
  )
}
let crashPort
try {
  crashPort = tcpPortOption(args.port, '--port')
} catch (error) {
  usageError(errorMessage(error))
}

let lab
try {
  lab = resolveLabConfig({ name: args.name, subnet: args.subnet, vms: args.vms })
} catch (error) {
  usageError(errorMessage(error))
}
ensureRoot('lab')

/** @param {string} line */
const log = (line) => process.stderr.write(`lab: ${line}\n`)
/** The VM a VM command acts on: every VM command has one (checked above). */
function requireVmName() {
  if (!vmName) throw new Error(`"${command}" needs a VM name`)
  return vmName
}
try {
  switch (command) {
    case 'up':
      await labUp(lab, { log, sshd: args.sshd, docker: args.docker, images: args.image ?? [] })
      break
    case 'down':
      await labDown(lab)
      log(`lab ${lab.name} down`)
      break
    case 'status': {
      const status = await labStatus(lab)
      if (args.json) {
        process.stdout.write(JSON.stringify(status, null, 2) + '\n')
      } else {
        for (const vm of status.vms) {
          const services = vm.services.map((s) => `${s.name}:${s.pid ? `running(${s.pid})` : 'stopped'}`).join(' ') || '-'
          process.stdout.write(
            `${vm.vm.padEnd(4)} ${vm.address.padEnd(15)} link=${vm.link.padEnd(6)}${vm.isolated ? ' isolated' : ''} processes=${String(vm.processes).padEnd(4)} ${services}\n`,
          )
        }
      }
      if (status.vms.some((vm) => vm.link === 'absent')) process.exitCode = 1
      break
    }
    case 'exec': {
      const vm = findVm(lab, requireVmName())
      const argv = vmCommand(vm, execArgv, { user: args.user })
      const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' })
      process.exitCode = result.status ?? 1
      break
    }
    default:
      if (isFaultName(command)) log(await injectFault(lab, command, requireVmName(), { port: crashPort, container: args.container }))
  }
} catch (error) {
  if (errorCode(error) === 'LAB_CONFIG_INVALID') usageError(errorMessage(error))
  exitOn(error, { name: `lab: ${command}` })
}
