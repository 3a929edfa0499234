// Transport "ssh" for real: a lab whose VMs run sshd (`lab up --sshd`) and an inventory that
// names no lab at all (no lab_name, no lab_vm), so ssh is the only way in. Bad connections stop
// bring-up before anything changes; then bring-up from nothing, a no-op re-run, and a VM powered
// off and back on.
import { readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { findVm, resolveLabConfig } from '../../lab/lab-config.mjs'
import { labDown } from '../../lab/lab.mjs'
import { labSshPaths } from '../../lab/sshd.mjs'
import { PLAIN_SERVICE_DIR } from '../../scripts/lib/transports/ssh-transport.mjs'
import { jsonLines } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'
import { sshLabVars } from '../support/ssh-lab-inventory.mjs'

// 10.213.45.0/24 is bringup-resume's: every suite keeps a subnet of its own.
/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{healthy: boolean, nodes: Array<{name: string, role: string, health: number}>}} StatusView
 */
/** `lab status --json`: the lab's labStatus as JSON. @typedef {Awaited<ReturnType<typeof import('../../lab/lab.mjs').labStatus>>} LabStatus */

const LAB = { name: 'pghts', subnet: '10.213.52.0/24' }
const lab = resolveLabConfig(LAB)
const keys = labSshPaths(lab)
const prefix = LAB.subnet.split('.').slice(0, 3).join('.')
/** @param {...string} args */
const labCli = (...args) => runScript('lab/cli.mjs', [...args, '--name', LAB.name, '--subnet', LAB.subnet])
/** @type {string} */
let dir

beforeAll(async () => {
  const up = await labCli('up', '--sshd')
  expect(up.code, up.stderr).toBe(0)
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-pghts-'))
})
afterAll(async () => {
  await labDown(lab)
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/**
 * An inventory for the lab's VMs over ssh: addresses, the lab's key and known_hosts, nothing else.
 * @param {string} name @param {{vars?: Record<string, unknown>, monitorAddress?: string}} [options]
 */
async function writeInventory(name, { vars = {}, monitorAddress = `${prefix}.13` } = {}) {
  const doc = {
    all: {
      vars: sshLabVars(LAB.subnet, keys, vars),
      children: {
        monitor: { hosts: { 'vm3-monitor': { ansible_host: monitorAddress, pg_port: 5431 } } },
        nodes: {
          hosts: {
            vm1: { ansible_host: `${prefix}.11`, node_name: 'node1' },
            vm2: { ansible_host: `${prefix}.12`, node_name: 'node2' },
            vm3: { ansible_host: `${prefix}.13`, node_name: 'node3' },
          },
        },
      },
    },
  }
  const file = path.join(dir, `${name}.yml`)
  await fs.writeFile(file, YAML.stringify(doc))
  return file
}

/** @param {string} file */
const bringup = (file) => runScript('scripts/bringup.mjs', ['--inventory', file, '--env-output', path.join(dir, 'app.env'), '--json'])
/** @param {string} file @returns {Promise<{code: number | null, stderr: string, status: StatusView | null}>} */
const statusJson = async (file) => {
  const out = await runScript('scripts/status.mjs', ['--inventory', file, '--json'])
  return { code: out.code, stderr: out.stderr, status: out.stdout ? JSON.parse(out.stdout) : null }
}
/** A path inside a VM's private /var/lib/postgresql, seen from this host. @param {string} vm @param {string} relative */
const inVmHome = (vm, relative) => path.join(findVm(lab, vm).mounts['/var/lib/postgresql'], relative)
/** @param {string} file */
const exists = (file) =>
  fs.access(file).then(
    () => true,
    () => false,
  )

/** A key pair the VMs know nothing about. */
async function otherKey() {
  const file = path.join(dir, 'other_key')
  if (!(await exists(file))) await $({ quiet: true })`ssh-keygen -q -t ed25519 -N ${''} -C other -f ${file}`
  return file
}

async function expectNothingCreated() {
  expect(await exists(inVmHome('vm3', 'pgaf/monitor')), "the monitor's data directory").toBe(false)
  for (const vm of ['vm1', 'vm2', 'vm3']) {
    for (const what of ['pgaf', '.pgpass', PLAIN_SERVICE_DIR.replace('/var/lib/postgresql/', '')]) {
      expect(await exists(inVmHome(vm, what)), `${vm}: ${what}`).toBe(false)
    }
  }
}

describe('transport ssh refuses bad connections before anything changes', () => {
  it('an unreachable host (an address of the subnet with no VM)', async () => {
    const out = await bringup(await writeInventory('unreachable', { monitorAddress: `${prefix}.99` }))
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(new RegExp(`vm3-monitor \\(root@${prefix}\\.99:22\\): unreachable \\(.*(No route to host|timed out)`))
    expect(out.stderr).toContain('check that the host is up')
    expect(out.stderr).not.toMatch(/vm1|vm2/)
    expect(jsonLines(out.stdout).some((r) => r.step === 'passfile')).toBe(false)
    await expectNothingCreated()
  })

  it('a key the hosts do not accept', async () => {
    const wrongKey = await otherKey()
    const out = await bringup(await writeInventory('wrong-key', { vars: { ansible_ssh_private_key_file: wrongKey } }))
    expect(out.code).toBe(1)
    for (const host of ['vm3-monitor, vm3', 'vm1', 'vm2']) {
      expect(out.stderr).toContain(`${host} (root@`)
    }
    expect(out.stderr).toContain(`refused the key ${wrongKey} for root`)
    expect(out.stderr).toContain('Authorize its public key')
    await expectNothingCreated()
  })

  it('an unknown host key, unless ssh_accept_new_host_keys is set', async () => {
    // known_hosts with vm1 and vm2 only: vm3 is unknown.
    const knownHosts = path.join(dir, 'known_hosts_without_vm3')
    const lines = readFileSync(keys.knownHosts, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith(`${prefix}.13 `))
    await fs.writeFile(knownHosts, lines.join('\n') + '\n', { mode: 0o600 })
    const out = await bringup(await writeInventory('unknown-host-key', { vars: { ssh_known_hosts_file: knownHosts } }))
    expect(out.code).toBe(1)
    expect(out.stderr).toContain(
      `vm3-monitor, vm3 (root@${prefix}.13:22): its host key is unknown: ${knownHosts} has no entry for ${prefix}.13`,
    )
    expect(out.stderr).toContain('ssh_accept_new_host_keys: true')
    expect(out.stderr).not.toMatch(/vm1|vm2/)
    expect(await fs.readFile(knownHosts, 'utf8'), 'known_hosts untouched').toBe(lines.join('\n') + '\n')
    await expectNothingCreated()
  })

  it('a host key that differs from known_hosts, even with ssh_accept_new_host_keys', async () => {
    const knownHosts = path.join(dir, 'known_hosts_vm1_changed')
    const impostor = (await fs.readFile(`${await otherKey()}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ')
    const lines = readFileSync(keys.knownHosts, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (line.startsWith(`${prefix}.11 `) ? `${prefix}.11 ${impostor}` : line))
    await fs.writeFile(knownHosts, lines.join('\n') + '\n', { mode: 0o600 })
    const out = await bringup(
      await writeInventory('changed-host-key', { vars: { ssh_known_hosts_file: knownHosts, ssh_accept_new_host_keys: true } }),
    )
    expect(out.code).toBe(1)
    expect(out.stderr).toContain(`vm1 (root@${prefix}.11:22): its host key DIFFERS from the one in ${knownHosts}`)
    expect(out.stderr).not.toMatch(/vm2|vm3/)
    await expectNothingCreated()
  })
})

describe('bring-up over ssh', () => {
  /** @type {string} */
  let inventory
  /** @type {Awaited<ReturnType<typeof bringup>>} */
  let first

  it('ends with one primary and two secondaries, all healthy', async () => {
    inventory = await writeInventory('cluster')
    const doc = YAML.parse(await fs.readFile(inventory, 'utf8'))
    expect(JSON.stringify(doc), 'no lab in the inventory: ssh is the only way in').not.toMatch(/lab_name|lab_vm/)
    const tmpBefore = await sshControlDirs()
    const startedAt = Date.now()
    first = await bringup(inventory)
    process.stdout.write(`bring-up over ssh from nothing: ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(jsonLines(first.stdout).find((r) => r.step === 'hosts reachable')?.detail).toBe('4 hosts over ssh')
    const { code, status } = await statusJson(inventory)
    expect(code).toBe(0)
    expect(status?.healthy).toBe(true)
    expect(status?.nodes.map((n) => `${n.name}:${n.role}:${n.health}`)).toEqual([
      'node1:primary:1',
      'node2:secondary:1',
      'node3:secondary:1',
    ])
    // The multiplexed connections ended with the script.
    expect((await sshControlDirs()).filter((d) => !tmpBefore.includes(d))).toEqual([])
    expect(await processesMatching('pgha-ssh-')).toEqual([])
  })

  it("went through each VM's sshd, and runs the keepers as plain services of the VMs", async () => {
    for (const vm of lab.vms) {
      const log = await fs.readFile(path.join(vm.logDir, 'sshd.log'), 'utf8')
      expect(log, vm.vm).toMatch(
        new RegExp(`Accepted publickey for root from ${lab.gateway.replaceAll('.', '\\.')} port \\d+ ssh2: ED25519`),
      )
    }
    for (const [vm, name] of /** @type {Array<[string, string]>} */ ([
      ['vm1', 'pgautofailover-node-5432'],
      ['vm2', 'pgautofailover-node-5432'],
      ['vm3', 'pgautofailover-node-5432'],
      ['vm3', 'pgautofailover-monitor-5431'],
    ])) {
      const [pid] = (await fs.readFile(inVmHome(vm, `.pgha-services/${name}.pid`), 'utf8')).trim().split(' ').map(Number)
      const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ')
      // A data node's keeper runs under the keeper guard (keeper-guard.sh); the monitor's as it is.
      const keeper = name.includes('-node-')
        ? /^\/bin\/bash \/var\/lib\/postgresql\/\.pgha\/keeper-guard \/var\/lib\/postgresql\/pgaf\/\S+ -- pg_autoctl run --pgdata \/var\/lib\/postgresql\/pgaf\//
        : /^pg_autoctl run --pgdata \/var\/lib\/postgresql\/pgaf\//
      expect(cmdline, `${vm} ${name}`).toMatch(keeper)
      const uid = /^Uid:\s+(\d+)/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))?.[1]
      expect(uid).toBe((await $({ quiet: true })`id -u postgres`).stdout.trim())
    }
    // The lab itself supervises sshd only: the keepers came over ssh, not through the lab.
    /** @type {LabStatus} */
    const status = JSON.parse((await labCli('status', '--json')).stdout)
    expect(status.vms.map((vm) => vm.services.map((s) => s.name))).toEqual([['sshd'], ['sshd'], ['sshd']])
  })

  it('changes nothing when run again', async () => {
    const again = await bringup(inventory)
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    const records = jsonLines(again.stdout)
    expect(records.filter((r) => r.event === 'step' && r.status !== 'ok')).toEqual([])
    expect(records.at(-1)).toMatchObject({ event: 'info', step: 'done', changed_steps: 0 })
  })

  it('after a power-off, restart brings sshd back and the next bring-up starts the keeper again', async () => {
    expect((await labCli('power-off', 'vm2')).code).toBe(0)
    const restarted = await labCli('restart', 'vm2')
    expect(restarted.stderr).toContain('started sshd')
    const again = await bringup(inventory)
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    const changed = jsonLines(again.stdout).filter((r) => r.event === 'step' && r.status === 'changed')
    expect(changed.map((r) => `${r.step}@${r.host}: ${r.detail}`)).toEqual(['node2: service@vm2: started pgautofailover-node-5432'])
    const { status } = await statusJson(inventory)
    expect(status?.healthy).toBe(true)
    expect(status?.nodes.find((n) => n.name === 'node2')?.role).toBe('secondary')
  })

  it('accepts and records a new host key when ssh_accept_new_host_keys is set', async () => {
    const knownHosts = path.join(dir, 'known_hosts_empty')
    await fs.writeFile(knownHosts, '', { mode: 0o600 })
    const file = await writeInventory('accept-new', { vars: { ssh_known_hosts_file: knownHosts, ssh_accept_new_host_keys: true } })
    const { code, status, stderr } = await statusJson(file)
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(status?.healthy).toBe(true)
    // status talks to the monitor only: one key learnt, checked against the VM's own.
    const learnt = (await $({ quiet: true })`ssh-keygen -F ${`${prefix}.13`} -f ${knownHosts}`).stdout
    const hostKey = (await fs.readFile(`${keys.vm(findVm(lab, 'vm3')).hostKey}.pub`, 'utf8')).split(' ')[1]
    expect(learnt).toContain(hostKey)
  })

  it('tears the cluster down over ssh: keepers stopped, data gone, sshd left alone', async () => {
    /** @type {number[]} */
    const pids = []
    for (const [vm, name] of /** @type {Array<[string, string]>} */ ([
      ['vm1', 'node-5432'],
      ['vm2', 'node-5432'],
      ['vm3', 'node-5432'],
      ['vm3', 'monitor-5431'],
    ])) {
      pids.push(Number((await fs.readFile(inVmHome(vm, `.pgha-services/pgautofailover-${name}.pid`), 'utf8')).split(' ')[0]))
    }
    const out = await runScript('scripts/teardown.mjs', ['--inventory', inventory, '--yes'])
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    for (const pid of pids) expect(await exists(`/proc/${pid}`), `keeper ${pid} stopped and reaped`).toBe(false)
    for (const vm of ['vm1', 'vm2', 'vm3']) {
      expect(await exists(inVmHome(vm, 'pgaf/node')), vm).toBe(false)
      expect(await exists(inVmHome(vm, '.pgpass')), vm).toBe(false)
      expect(
        (await fs.readdir(inVmHome(vm, '.pgha-services'))).filter((f) => f.endsWith('.pid')),
        vm,
      ).toEqual([])
    }
    /** @type {LabStatus} */
    const status = JSON.parse((await labCli('status', '--json')).stdout)
    expect(status.vms.map((vm) => `${vm.services[0]?.name}:${Boolean(vm.services[0]?.pid)}`)).toEqual([
      'sshd:true',
      'sshd:true',
      'sshd:true',
    ])
  })
})

describe('lab down after up --sshd', () => {
  it('leaves no sshd, key, namespace or directory behind', async () => {
    const down = await labCli('down')
    expect(down.code, down.stderr).toBe(0)
    expect(await processesMatching(`${lab.dir}/`)).toEqual([])
    expect(await exists(lab.dir)).toBe(false)
    const namespaces = (await $({ quiet: true })`ip netns list`).stdout
    expect(namespaces).not.toContain(`${LAB.name}-`)
    expect((await $({ quiet: true, nothrow: true })`ip link show dev ${lab.bridge}`).exitCode).not.toBe(0)
  })
})

async function sshControlDirs() {
  return (await fs.readdir(os.tmpdir())).filter((name) => name.startsWith('pgha-ssh-'))
}

/** Pids of processes whose command line contains `text`. @param {string} text */
async function processesMatching(text) {
  /** @type {number[]} */
  const found = []
  for (const pid of (await fs.readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(text)) found.push(Number(pid))
  }
  return found
}
