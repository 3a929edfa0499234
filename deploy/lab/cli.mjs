#!/usr/bin/env node
// lab: a 3-VM lab on one host.
//   lab up [--sshd] | down | status [--json]     (--sshd: an sshd in every VM, see sshd.mjs)
//   lab power-off|partition|isolate|heal|restart <vm>   (isolate: cut off from the other VMs, the host still reaches it)
//   lab crash-postgres <vm> [--port 5432]
//   lab exec <vm> [--user U] -- <command...>   (a shell on the VM, as ssh would give one)
// Options: --name <lab> --subnet <a.b.c.0/24> --vms <n> (or PGHA_LAB_NAME, PGHA_LAB_SUBNET, PGHA_LAB_VMS)
import { spawnSync } from 'node:child_process'
import { parseArgv } from 'zx'
import { findVm, resolveLabConfig } from './lab-config.mjs'
import { vmCommand } from './vm-exec.mjs'
import { crashPostgres, heal, isolate, labDown, labStatus, labUp, partition, powerOff, restart } from './lab.mjs'
import { ensureRoot } from '../scripts/lib/ensure-packages.mjs'

const USAGE = `usage: lab <up|down|status|power-off|partition|isolate|heal|crash-postgres|restart> [vm] [--name N] [--subnet S] [--vms N] [--port P] [--json] [--sshd]
       lab exec <vm> [--user U] -- <command...>`
const VM_COMMANDS = new Set(['power-off', 'partition', 'isolate', 'heal', 'crash-postgres', 'restart', 'exec'])
const LAB_COMMANDS = new Set(['up', 'down', 'status'])

const args = parseArgv(process.argv.slice(2), { string: ['name', 'subnet', 'vms', 'port', 'user'], boolean: ['json', 'help', 'sshd'], '--': true })
const [command, vmName, ...extra] = args._.map(String)

function usageError(message) {
  process.stderr.write(`lab: ${message}\n${USAGE}\n`)
  process.exit(2)
}

if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}
if (!command || (!LAB_COMMANDS.has(command) && !VM_COMMANDS.has(command))) usageError(command ? `unknown command "${command}"` : 'missing command')
if (VM_COMMANDS.has(command) && !vmName) usageError(`"${command}" needs a VM name (vm1, vm2, ...)`)
if ((LAB_COMMANDS.has(command) && vmName) || extra.length > 0) usageError(`unexpected argument "${LAB_COMMANDS.has(command) ? vmName : extra[0]}"`)
const execArgv = (args['--'] ?? []).map(String)
if (command === 'exec' && execArgv.length === 0) usageError('"exec" needs a command after --')
if (command !== 'exec' && (execArgv.length > 0 || args.user !== undefined)) usageError(`"${command}" takes no command and no --user`)
if (command !== 'up' && args.sshd) usageError('--sshd goes with "up" only')

let lab
try {
  lab = resolveLabConfig({ name: args.name, subnet: args.subnet, vms: args.vms })
} catch (error) {
  usageError(error.message)
}
ensureRoot('lab')

const log = (line) => process.stderr.write(`lab: ${line}\n`)
try {
  switch (command) {
    case 'up':
      await labUp(lab, { log, sshd: args.sshd })
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
          process.stdout.write(`${vm.vm.padEnd(4)} ${vm.address.padEnd(15)} link=${vm.link.padEnd(6)}${vm.isolated ? ' isolated' : ''} processes=${String(vm.processes).padEnd(4)} ${services}\n`)
        }
      }
      if (status.vms.some((vm) => vm.link === 'absent')) process.exitCode = 1
      break
    }
    case 'power-off':
      await powerOff(lab, vmName)
      log(`${vmName} powered off`)
      break
    case 'partition':
      await partition(lab, vmName)
      log(`${vmName} partitioned`)
      break
    case 'isolate':
      await isolate(lab, vmName)
      log(`${vmName} isolated from the other VMs (the host still reaches it)`)
      break
    case 'heal':
      await heal(lab, vmName)
      log(`${vmName} healed`)
      break
    case 'restart': {
      const started = await restart(lab, vmName)
      log(`${vmName} restarted${started.length ? `; started ${started.join(', ')}` : ''}`)
      break
    }
    case 'exec': {
      const vm = findVm(lab, vmName)
      const argv = vmCommand(vm, execArgv, { user: args.user })
      const result = spawnSync(argv[0], argv.slice(1), { stdio: 'inherit' })
      process.exitCode = result.status ?? 1
      break
    }
    case 'crash-postgres': {
      const port = args.port === undefined ? 5432 : Number(args.port)
      if (!Number.isInteger(port) || port < 1 || port > 65535) usageError(`--port "${args.port}" is not a TCP port`)
      const pid = await crashPostgres(lab, vmName, { port })
      log(`${vmName}: postmaster ${pid} on port ${port} killed`)
      break
    }
  }
} catch (error) {
  if (error.code === 'LAB_CONFIG_INVALID') usageError(error.message)
  process.stderr.write(`lab: ${command} failed: ${error.message}\n`)
  process.exit(1)
}
