// The lab on its own: VMs that share only the network, faults that act like a real host's,
// `up` that cleans leftovers, `down` that leaves nothing.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { findVm, resolveLabConfig } from '../../lab/lab-config.mjs'
import { listNamespaces, namespacePids } from '../../lab/network.mjs'
import { registerService, startService } from '../../lab/services.mjs'
import { vmCommand } from '../../lab/vm-exec.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { runScript } from '../support/run-script.mjs'

/** `lab status --json`: the lab's labStatus as JSON. @typedef {Awaited<ReturnType<typeof import('../../lab/lab.mjs').labStatus>>} LabStatus */

const NAME = 'pghtl'
const SUBNET = '10.213.43.0/24'
const lab = resolveLabConfig({ name: NAME, subnet: SUBNET })
/** @param {...string} args */
const labCli = (...args) => runScript('lab/cli.mjs', [...args, '--name', NAME, '--subnet', SUBNET])
/** @param {string} vm @param {string[]} argv */
const spawnInVm = (vm, argv) => {
  const command = vmCommand(findVm(lab, vm), argv)
  spawn(command[0], command.slice(1), { detached: true, stdio: 'ignore' }).unref()
}
// Killed children of this test process may linger as zombies until reaped: those count as gone.
/** @param {number} pid */
const isAlive = async (pid) => {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
}
/** @param {string} vm @param {string[]} argv @param {Partial<import('zx').Options>} [options] */
const inVm = (vm, argv, options) => $({ quiet: true, nothrow: true, ...options })`${vmCommand(findVm(lab, vm), argv)}`

// A TCP echo-less listener on port 7000 inside vm2, run as a lab service like the keepers are.
const LISTENER = ['node', '-e', "require('net').createServer((s) => s.end('ok')).listen(7000, '0.0.0.0')"]
const CONNECT_PROBE =
  "const s=require('net').connect(7000,process.argv[1]);s.setTimeout(1500,()=>process.exit(3));s.on('data',()=>process.exit(0));s.on('error',()=>process.exit(4))"
/** @param {string} fromVm @param {string} address */
const canConnect = async (fromVm, address) => {
  return (await inVm(fromVm, ['node', '-e', CONNECT_PROBE, address])).exitCode === 0
}

/** @param {string} address */
const canConnectFromHost = async (address) => {
  return (await $({ quiet: true, nothrow: true })`node -e ${CONNECT_PROBE} ${address}`).exitCode === 0
}

beforeAll(async () => {
  const up = await labCli('up')
  expect(up.code, up.stderr).toBe(0)
  const vm2 = findVm(lab, 'vm2')
  const PATH = process.env.PATH
  if (PATH === undefined) throw new Error('PATH is not set')
  await registerService(vm2, { name: 'listener', user: 'root', argv: LISTENER, env: { PATH } })
  await startService(vm2, 'listener')
  await waitFor(() => canConnect('vm1', findVm(lab, 'vm2').address), { timeoutMs: 10_000, what: 'the listener in vm2' })
})
afterAll(async () => {
  await labCli('down')
})

describe('lab', () => {
  it('gives every VM its own address, reachable from the others', async () => {
    expect(await canConnect('vm1', findVm(lab, 'vm2').address)).toBe(true)
    expect(await canConnect('vm3', findVm(lab, 'vm2').address)).toBe(true)
    const addr = await inVm('vm1', ['ip', '-4', '-br', 'addr', 'show', 'dev', 'eth0'])
    expect(addr.stdout).toContain(`${findVm(lab, 'vm1').address}/24`)
  })

  it('exec runs a command on a VM, as a given user, and passes its exit code on', async () => {
    // Options go before "--": everything after it is the command.
    const addr = await runScript('lab/cli.mjs', [
      'exec',
      'vm3',
      '--name',
      NAME,
      '--subnet',
      SUBNET,
      '--user',
      'postgres',
      '--',
      'sh',
      '-c',
      'id -un; ip -4 -br addr show dev eth0; exit 7',
    ])
    expect(addr.code).toBe(7)
    expect(addr.stdout).toContain('postgres\n')
    expect(addr.stdout).toContain(`${findVm(lab, 'vm3').address}/24`)
    for (const args of [
      ['exec', 'vm1'],
      ['exec', 'vm9', '--', 'true'],
      ['heal', 'vm1', '--', 'true'],
    ]) {
      const out = await labCli(...args)
      expect(out.code, args.join(' ')).toBe(2)
      expect(out.stderr).toMatch(/lab: /)
    }
  })

  it('keeps /var/run/postgresql and /var/lib/postgresql private to each VM', async () => {
    await inVm('vm1', ['sh', '-c', 'echo vm1 > /var/run/postgresql/owner && echo vm1 > /var/lib/postgresql/owner'])
    expect((await inVm('vm1', ['cat', '/var/run/postgresql/owner'])).stdout.trim()).toBe('vm1')
    expect((await inVm('vm2', ['cat', '/var/run/postgresql/owner'])).exitCode).not.toBe(0)
    expect((await inVm('vm2', ['cat', '/var/lib/postgresql/owner'])).exitCode).not.toBe(0)
    await expect(fs.access('/var/run/postgresql/owner')).rejects.toThrow()
  })

  it('reports VMs and services in status --json', async () => {
    const out = await labCli('status', '--json')
    expect(out.code).toBe(0)
    /** @type {LabStatus} */
    const status = JSON.parse(out.stdout)
    expect(status.vms.map((vm) => [vm.vm, vm.address, vm.link])).toEqual([
      ['vm1', '10.213.43.11', 'up'],
      ['vm2', '10.213.43.12', 'up'],
      ['vm3', '10.213.43.13', 'up'],
    ])
    expect(status.vms[1]?.services).toEqual([{ name: 'listener', pid: expect.any(Number) }])
  })

  it('partition cuts a VM off while its processes keep running; heal reconnects it', async () => {
    const vm2 = findVm(lab, 'vm2')
    const pidsBefore = await namespacePids(vm2.netns)
    expect((await labCli('partition', 'vm2')).code).toBe(0)
    expect(await canConnect('vm1', vm2.address)).toBe(false)
    expect(await namespacePids(vm2.netns)).toEqual(pidsBefore)
    expect((await labCli('heal', 'vm2')).code).toBe(0)
    expect(await waitFor(() => canConnect('vm1', vm2.address), { timeoutMs: 10_000, what: 'vm2 after heal' })).toBe(true)
  })

  it('isolate cuts a VM off from the other VMs only: the host still reaches it; heal undoes it', async () => {
    const vm2 = findVm(lab, 'vm2')
    expect((await labCli('isolate', 'vm2')).code).toBe(0)
    expect(await canConnect('vm1', vm2.address)).toBe(false)
    expect(await canConnect('vm3', vm2.address)).toBe(false)
    expect(await canConnectFromHost(vm2.address)).toBe(true)
    // Its own address stays reachable from inside (a keeper and the monitor on one VM).
    expect(await canConnect('vm2', vm2.address)).toBe(true)
    /** @type {LabStatus} */
    const status = JSON.parse((await labCli('status', '--json')).stdout)
    expect(status.vms.map((vm) => [vm.vm, vm.link, vm.isolated])).toEqual([
      ['vm1', 'up', false],
      ['vm2', 'up', true],
      ['vm3', 'up', false],
    ])
    expect((await labCli('heal', 'vm2')).code).toBe(0)
    expect(await waitFor(() => canConnect('vm1', vm2.address), { timeoutMs: 10_000, what: 'vm2 after heal' })).toBe(true)
  })

  it('power-off kills every process in the VM; restart brings its services back', async () => {
    const vm2 = findVm(lab, 'vm2')
    spawnInVm('vm2', ['sleep', '600'])
    // An orphan, as a daemon's processes are: init reaps it, late. Until reaped its pid still
    // looks alive, which makes a keeper started again at once refuse to run over its pidfile.
    spawnInVm('vm2', ['sh', '-c', 'sleep 601 & exit 0'])
    const orphan = await waitFor(
      async () => {
        for (const pid of await namespacePids(vm2.netns)) {
          if ((await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) === 'sleep\u0000601\u0000') return pid
        }
        return null
      },
      { timeoutMs: 5000, what: 'an orphaned process in vm2' },
    )
    expect((await labCli('power-off', 'vm2')).code).toBe(0)
    expect(await namespacePids(vm2.netns)).toEqual([])
    await expect(fs.access(`/proc/${orphan}`), 'power-off returns once the killed processes are reaped').rejects.toThrow()
    expect(await canConnect('vm1', vm2.address)).toBe(false)
    const restarted = await labCli('restart', 'vm2')
    expect(restarted.stderr).toContain('started listener')
    expect(await waitFor(() => canConnect('vm1', vm2.address), { timeoutMs: 10_000, what: 'the listener after restart' })).toBe(true)
  })

  it('crash-postgres says so when no postmaster runs there', async () => {
    const out = await labCli('crash-postgres', 'vm1', '--port', '5432')
    expect(out.code).toBe(1)
    expect(out.stderr).toContain('no postmaster listening on port 5432 runs on vm1')
  })

  it("crash-postgres needs the node's port: 5432 on vm3 of the users' layout is the monitor", async () => {
    const out = await labCli('crash-postgres', 'vm3')
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('"crash-postgres" needs --port')
  })

  it('up cleans the leftovers of an earlier run, processes included', async () => {
    const oldPids = await namespacePids(findVm(lab, 'vm2').netns)
    expect(oldPids.length).toBeGreaterThan(0)
    expect((await labCli('up')).code).toBe(0)
    for (const pid of oldPids) expect(await isAlive(pid)).toBe(false)
    /** @type {LabStatus} */
    const status = JSON.parse((await labCli('status', '--json')).stdout)
    expect(status.vms.every((vm) => vm.link === 'up' && vm.processes === 0 && vm.services.length === 0)).toBe(true)
  })

  it('down leaves no namespace, bridge, process or directory, and is idempotent', async () => {
    const vm1 = findVm(lab, 'vm1')
    spawnInVm('vm1', ['sleep', '600'])
    await waitFor(async () => (await namespacePids(vm1.netns)).length > 0, { timeoutMs: 5000, what: 'a process in vm1' })
    const orphan = (await namespacePids(vm1.netns))[0]
    if (orphan === undefined) throw new Error('no process in vm1')
    for (let i = 0; i < 2; i++) {
      const down = await labCli('down')
      expect(down.code, down.stderr).toBe(0)
    }
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${NAME}-`))).toEqual([])
    expect((await $({ nothrow: true, quiet: true })`ip link show dev ${lab.bridge}`).exitCode).not.toBe(0)
    expect((await $({ quiet: true })`ip -br link`).stdout).not.toContain(`${NAME}-`)
    expect(await isAlive(orphan)).toBe(false)
    await expect(fs.access(lab.dir)).rejects.toThrow()
    const status = await labCli('status', '--json')
    expect(status.code).toBe(1)
  })

  it('refuses to run without root, with exit 2', async () => {
    const out = await runScript('lab/cli.mjs', ['status', '--name', NAME], {
      prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
    })
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('needs root')
  })

  it('rejects a bad name, subnet or command with exit 2', async () => {
    for (const args of [['up', '--name', 'Bad-Name'], ['up', '--subnet', '10.0.0.0/16'], ['explode'], ['power-off']]) {
      const out = await runScript('lab/cli.mjs', args)
      expect(out.code, args.join(' ')).toBe(2)
      expect(out.stderr).toMatch(/lab: /)
    }
  })
})
