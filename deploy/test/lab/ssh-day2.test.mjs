// Day 2 over transport ssh, on one 4-VM lab with an sshd per VM and an inventory that names no
// lab (no lab_name, no lab_vm): every script reaches the VMs the way it would reach real hosts.
// One cluster, ordered steps sharing it: bring-up, switchover (any, then --to), maintenance of a
// standby, rejoin of an old primary whose timeline really diverged, add-node of a 4th node,
// pgBackRest (setup with the repository on vm3, a full backup, a restore of the latest writes
// into a scratch server on vm4, removed as restore.mjs says), teardown. After each step the
// monitor's view (status.mjs --json) is checked.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { $ } from 'zx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findVm, resolveLabConfig } from '../../lab/lab-config.mjs'
import { labDown } from '../../lab/lab.mjs'
import { namespacePids } from '../../lab/network.mjs'
import { labSshPaths } from '../../lab/sshd.mjs'
import { shellQuote } from '../../lib/shell.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { jsonLines, nodeDsn, parseDatabaseUrl, psql } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'
import { sshLabVars } from '../support/ssh-lab-inventory.mjs'

// 10.213.37-55 belong to other suites: every suite keeps a subnet (and a lab name) of its own.
/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{node_id: number, name: string, host: string, port: number, role: string, health: number, pg_running: boolean,
 *   reported_state: string, assigned_state: string, tli: number}} StatusNode
 * @typedef {{formation: string, healthy: boolean, verdict: string, problems: string[], maintenance: string[], nodes: StatusNode[]}} StatusView
 */
/** `lab status --json`: the lab's labStatus as JSON. @typedef {Awaited<ReturnType<typeof import('../../lab/lab.mjs').labStatus>>} LabStatus */

const LAB = { name: 'pghtx', subnet: '10.213.56.0/24', vms: 4 }
const lab = resolveLabConfig(LAB)
const keys = labSshPaths(lab)
const prefix = LAB.subnet.split('.').slice(0, 3).join('.')
const PG_BIN = '/usr/lib/postgresql/15/bin'
const NODE_PGDATA = '/var/lib/postgresql/pgaf/node'
// Options first: everything after `lab exec <vm> --` is the command.
/** @param {...string} args */
const labCli = (...args) => runScript('lab/cli.mjs', ['--name', LAB.name, '--subnet', LAB.subnet, '--vms', String(LAB.vms), ...args])
/** @type {Record<string, string>} */
const vmOf = { node1: 'vm1', node2: 'vm2', node3: 'vm3', node4: 'vm4' }
/** @type {string} */
let dir
/** @type {string} */
let inventory
/** @type {string} the application DSN, from the env file bring-up (then add-node) wrote */
let databaseUrl

beforeAll(async () => {
  const up = await labCli('up', '--sshd')
  expect(up.code, up.stderr).toBe(0)
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-pghtx-'))
  inventory = path.join(dir, 'cluster.yml')
})
afterAll(async () => {
  await labDown(lab)
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/**
 * The lab's VMs over ssh: addresses, the lab's key and known_hosts, nothing else; with a backup
 * group, vm3's address is the pgBackRest repository host.
 */
async function writeInventory({ withVm4 = false, withBackup = false } = {}) {
  const hosts = {
    vm1: { ansible_host: `${prefix}.11`, node_name: 'node1' },
    vm2: { ansible_host: `${prefix}.12`, node_name: 'node2' },
    vm3: { ansible_host: `${prefix}.13`, node_name: 'node3' },
    ...(withVm4 ? { vm4: { ansible_host: `${prefix}.14`, node_name: 'node4' } } : {}),
  }
  const doc = {
    all: {
      vars: sshLabVars(LAB.subnet, keys),
      children: {
        monitor: { hosts: { 'vm3-monitor': { ansible_host: `${prefix}.13`, pg_port: 5431 } } },
        nodes: { hosts },
        ...(withBackup ? { backup: { hosts: { 'vm3-backup': { ansible_host: `${prefix}.13` } } } } : {}),
      },
    },
  }
  await fs.writeFile(inventory, YAML.stringify(doc))
}

/** @param {string} name @param {...string} args */
const script = (name, ...args) => runScript(`scripts/${name}.mjs`, ['--inventory', inventory, ...args])
const envFile = () => path.join(dir, 'app.env')

/**
 * The monitor's view, as status.mjs --json prints it (exit 0 healthy, 1 not).
 * @returns {Promise<{code: number | null, stderr: string, view: StatusView}>}
 */
async function status() {
  const out = await script('status', '--json')
  /** @type {StatusView | null} */
  const view = out.stdout.trim() ? JSON.parse(out.stdout) : null
  if (!view || !Array.isArray(view.nodes)) throw new Error(`status.mjs printed no view of the nodes (exit ${out.code}): ${out.stderr}`)
  return { code: out.code, stderr: out.stderr, view }
}
/** A node of the view, which must list it. @param {StatusView} view @param {string} name */
const stateOf = (view, name) => {
  const node = view.nodes.find((n) => n.name === name)
  if (!node) throw new Error(`status does not list ${name}`)
  return node
}
/** @param {StatusView} view */
const roles = (view) => view.nodes.map((n) => `${n.name}:${n.role}:${n.health}`).sort()
/** @param {StatusView} view */
const primaryOf = (view) => {
  const primaries = view.nodes.filter((n) => n.role === 'primary')
  expect(
    primaries.map((n) => n.name),
    'exactly one primary',
  ).toHaveLength(1)
  const [primary] = primaries
  if (!primary) throw new Error('status reports no primary')
  return primary.name
}
/** @param {StatusView} view */
const snapshot = (view) => view.nodes.map((n) => `${n.node_id}:${n.name}=${n.reported_state}/${n.assigned_state}`).sort()

/**
 * Checks the cluster is healthy with `expected` nodes, one primary and the rest secondaries; returns the view.
 * @param {string[]} expected
 */
async function expectHealthy(expected) {
  const { code, stderr, view } = await status()
  expect(view.problems, stderr).toEqual([])
  expect(view.healthy).toBe(true)
  expect(code).toBe(0)
  expect(view.nodes.map((n) => n.name).sort()).toEqual(expected)
  primaryOf(view)
  expect(view.nodes.filter((n) => n.role === 'secondary')).toHaveLength(expected.length - 1)
  for (const n of view.nodes) expect(n, n.name).toMatchObject({ health: 1, pg_running: true })
  return view
}

/** A day-2 script's --json records that changed something, as "step" strings. */
/** @param {{stdout: string}} out */
const changedSteps = (out) =>
  jsonLines(out.stdout)
    .filter((r) => r.status === 'changed')
    .map((r) => r.step)
/** @param {string} name */
const nodeAddress = (name) => {
  const vm = vmOf[name]
  if (!vm) throw new Error(`${name} is no node of this suite`)
  return findVm(lab, vm).address
}
/** @param {string} vm @param {string} relative */
const inVmHome = (vm, relative) => path.join(findVm(lab, vm).mounts['/var/lib/postgresql'], relative)
/** @param {string} file */
const exists = (file) =>
  fs.access(file).then(
    () => true,
    () => false,
  )
/** @param {number} since */
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`
/** @param {string} line */
const log = (line) => process.stdout.write(`ssh-day2: ${line}\n`)

/** Postgres and pg_autoctl processes running in a VM (its network namespace), as "pid cmdline". @param {string} vm */
async function pgProcesses(vm) {
  /** @type {string[]} */
  const found = []
  for (const pid of await namespacePids(findVm(lab, vm).netns)) {
    const exe = await fs.readlink(`/proc/${pid}/exe`).catch(() => '')
    const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim()
    if (/\/(postgres|pg_autoctl)$/.test(exe) || /pg_autoctl|postgres:/.test(cmdline)) found.push(`${pid} ${cmdline}`)
  }
  return found
}

/**
 * SQL as postgres on a VM through its local socket (psql inside the VM, via `lab exec`).
 * @param {string} vm @param {string} dbname @param {...string} statements
 */
async function localSql(vm, dbname, ...statements) {
  const out = await labCli(
    'exec',
    vm,
    '--user',
    'postgres',
    '--',
    `${PG_BIN}/psql`,
    '-X',
    '-q',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    '/var/run/postgresql',
    '-p',
    '5432',
    '-d',
    dbname,
    ...statements.flatMap((s) => ['-c', s]),
  )
  expect(out.code, `${vm}: ${statements.join('; ')}: ${out.stderr}`).toBe(0)
  return out.stdout.trim()
}
/** @param {string} vm @param {...string} args */
async function pgCtl(vm, ...args) {
  const out = await labCli('exec', vm, '--user', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', NODE_PGDATA, ...args)
  expect(out.code, `${vm}: pg_ctl ${args.join(' ')}: ${out.stderr}`).toBe(0)
  return out
}

/**
 * A command line run as root on a VM through its sshd, the way an operator types one in.
 * @param {string} vm @param {string} command
 */
async function sshRoot(vm, command) {
  const opts = [
    'BatchMode=yes',
    'IdentitiesOnly=yes',
    'StrictHostKeyChecking=yes',
    `UserKnownHostsFile=${keys.knownHosts}`,
    'ConnectTimeout=5',
  ]
  const out = await $({
    quiet: true,
    nothrow: true,
    timeout: 60_000,
  })`ssh ${opts.flatMap((o) => ['-o', o])} -i ${keys.privateKey} -l root ${findVm(lab, vm).address} ${command}`
  return { code: out.exitCode, stdout: out.stdout.trim(), stderr: out.stderr.trim() }
}

/**
 * `pgbackrest server` as the pid file of the plain service (no systemd on these VMs) names it:
 * the process's command line and user, or null when none runs. @param {string} vm
 */
async function pgbackrestServer(vm) {
  const pidFile = inVmHome(vm, '.pgha-services/pgbackrest-server.pid')
  const [pid] = (await fs.readFile(pidFile, 'utf8').catch(() => '')).split(' ')
  if (!pid) return null
  const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trim()
  const uid = /^Uid:\s+(\d+)/m.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1]
  return cmdline ? { cmdline, uid: Number(uid) } : null
}

describe('day 2 over transport ssh', () => {
  it('brings up 3 nodes and a monitor over ssh: one primary, two secondaries, healthy', async () => {
    await writeInventory()
    expect(await fs.readFile(inventory, 'utf8'), 'no lab in the inventory: ssh is the only way in').not.toMatch(/lab_name|lab_vm/)
    const startedAt = Date.now()
    const out = await script('bringup', '--env-output', envFile(), '--json')
    log(`bring-up: ${seconds(startedAt)}`)
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(jsonLines(out.stdout).find((r) => r.step === 'hosts reachable')?.detail).toBe('4 hosts over ssh')
    const writtenUrl = /^DATABASE_URL='(.*)'$/m.exec(await fs.readFile(envFile(), 'utf8'))?.[1]
    expect(writtenUrl).toMatch(/^postgresql:\/\//)
    if (!writtenUrl) throw new Error('no DATABASE_URL in the env file')
    databaseUrl = writtenUrl

    const view = await expectHealthy(['node1', 'node2', 'node3'])
    expect(roles(view)).toEqual(['node1:primary:1', 'node2:secondary:1', 'node3:secondary:1'])
    expect(view.formation).toBe('default')
    expect(stateOf(view, 'node3')).toMatchObject({ host: `${prefix}.13`, port: 5432 })
    // Nothing went through the lab's own service supervisor: it runs sshd only.
    /** @type {LabStatus} */
    const labStatus = JSON.parse((await labCli('status', '--json')).stdout)
    expect(labStatus.vms.map((vm) => vm.services.map((s) => s.name))).toEqual([['sshd'], ['sshd'], ['sshd'], ['sshd']])
    for (const vm of ['vm1', 'vm2', 'vm3']) expect(await pgProcesses(vm), vm).not.toEqual([])
    expect(await pgProcesses('vm4')).toEqual([])
  })

  it('switches over to another node, then --to a chosen node', async () => {
    const before = primaryOf((await status()).view)
    let startedAt = Date.now()
    const any = await script('switchover', '--json')
    log(`switchover: ${seconds(startedAt)}`)
    expect(any.stderr).toBe('')
    expect(any.code).toBe(0)
    expect(changedSteps(any)).toEqual(['perform switchover'])
    let view = await expectHealthy(['node1', 'node2', 'node3'])
    const after = primaryOf(view)
    expect(after).not.toBe(before)

    // A node that is neither the first nor the current primary, and not on the monitor's VM (vm3),
    // so the power-off of the rejoin step below never takes the monitor with it.
    const target = ['node2', 'node1'].find((n) => n !== after)
    if (!target) throw new Error('no node to switch over to')
    startedAt = Date.now()
    // As ansible-runner would run it: inventory/hosts, the key in env/ssh_key (it wins over the
    // inventory's key file), artifacts under artifacts/<ident>/.
    const pdd = path.join(dir, 'runner')
    await fs.mkdir(path.join(pdd, 'inventory'), { recursive: true })
    await fs.mkdir(path.join(pdd, 'env'), { recursive: true })
    await fs.copyFile(inventory, path.join(pdd, 'inventory', 'hosts'))
    await fs.copyFile(path.join(path.dirname(inventory), 'cluster.secrets.yml'), path.join(pdd, 'inventory', 'hosts.secrets.yml'))
    await fs.writeFile(path.join(pdd, 'env', 'ssh_key'), await fs.readFile(keys.privateKey, 'utf8'), { mode: 0o600 })
    const to = await runScript('scripts/switchover.mjs', ['--to', target, '--private-data-dir', pdd, '--ident', 'to'])
    log(`switchover --to ${target}: ${seconds(startedAt)}`)
    expect(to.stderr).toBe('')
    expect(to.code).toBe(0)
    const artifacts = path.join(pdd, 'artifacts', 'to')
    expect(await fs.readFile(path.join(artifacts, 'status'), 'utf8')).toBe('successful')
    expect(await fs.readFile(path.join(artifacts, 'rc'), 'utf8')).toBe('0')
    expect(await fs.readFile(path.join(artifacts, 'stdout'), 'utf8')).toBe(to.stdout)
    const events = await Promise.all(
      (await fs.readdir(path.join(artifacts, 'job_events'))).map(async (f) =>
        JSON.parse(await fs.readFile(path.join(artifacts, 'job_events', f), 'utf8')),
      ),
    )
    const performed = events.find((e) => e.event === 'runner_on_ok' && e.event_data.step === 'perform switchover')
    expect(performed?.event_data).toMatchObject({ host: 'vm3-monitor', res: { changed: true } })
    view = await expectHealthy(['node1', 'node2', 'node3'])
    expect(primaryOf(view)).toBe(target)
    expect(stateOf(view, after)).toMatchObject({ role: 'secondary', health: 1 })

    // --to the primary itself is a no-op.
    const same = await script('switchover', '--to', target)
    expect(same.code, same.stderr).toBe(0)
    expect(same.stdout).toContain(`${target} is already the primary`)
    expect(primaryOf((await status()).view)).toBe(target)
  })

  it('puts a standby into maintenance and back', async () => {
    let view = (await status()).view
    const primary = primaryOf(view)
    const standby = 'node3'
    expect(stateOf(view, standby).role).toBe('secondary')

    let startedAt = Date.now()
    const enable = await script('maintenance', '--node', standby, '--enable', '--json')
    log(`maintenance --enable: ${seconds(startedAt)}`)
    expect(enable.stderr).toBe('')
    expect(enable.code).toBe(0)
    expect(jsonLines(enable.stdout).find((r) => r.step === 'hosts reachable')?.detail).toBe(`monitor and ${standby} over ssh`)
    expect(changedSteps(enable)).toEqual([`${standby}: enable maintenance`])
    const during = await status()
    view = during.view
    expect(stateOf(view, standby)).toMatchObject({ role: 'maintenance', reported_state: 'maintenance', assigned_state: 'maintenance' })
    expect(stateOf(view, primary)).toMatchObject({ role: 'primary', health: 1 })
    expect(view.nodes.filter((n) => n.role === 'secondary').map((n) => n.name)).toHaveLength(1)
    // The monitor's view is honest about it: a node in maintenance is not a healthy cluster, but
    // a planned one is degraded (exit 3), not unhealthy (exit 1).
    expect(view.healthy).toBe(false)
    expect(view).toMatchObject({ verdict: 'degraded', problems: [], maintenance: [standby] })
    expect(during.code).toBe(3)

    startedAt = Date.now()
    const disable = await script('maintenance', '--node', standby, '--disable', '--json')
    log(`maintenance --disable: ${seconds(startedAt)}`)
    expect(disable.stderr).toBe('')
    expect(disable.code).toBe(0)
    expect(changedSteps(disable)).toEqual([`${standby}: disable maintenance`])
    view = await expectHealthy(['node1', 'node2', 'node3'])
    expect(stateOf(view, standby)).toMatchObject({ role: 'secondary', reported_state: 'secondary', assigned_state: 'secondary', health: 1 })
    expect(primaryOf(view)).toBe(primary)
  })

  it('rebuilds an old primary whose timeline diverged after a failover', async () => {
    const dbname = 'app'
    const before = (await status()).view
    const old = primaryOf(before)
    const oldVm = vmOf[old]
    expect(['vm1', 'vm2'], "the old primary is not on the monitor's VM").toContain(oldVm)
    if (!oldVm) throw new Error(`${old} is no node of this suite`)
    expect((await psql(databaseUrl, 'create table ledger(id int primary key, note text not null)')).stderr).toBe('')
    expect((await psql(databaseUrl, "insert into ledger select g, 'before' from generate_series(1, 100) g")).stderr).toBe('')

    // Power cord pulled on the primary: the monitor fails over to one of the two others.
    const startedAt = Date.now()
    expect((await labCli('power-off', oldVm)).code).toBe(0)
    const failedOver = await waitFor(
      async () => {
        const { view } = await status()
        const primaries = view.nodes.filter((n) => n.role === 'primary')
        const others = view.nodes.filter((n) => n.name !== old)
        return primaries.length === 1 &&
          primaries[0]?.name !== old &&
          others.every((n) => n.health === 1 && n.reported_state === n.assigned_state)
          ? view
          : null
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: `a failover away from ${old}` },
    )
    log(`failover after power-off of ${oldVm}: ${seconds(startedAt)}`)
    const primary = primaryOf(failedOver)
    expect(primary).not.toBe(old)
    expect(stateOf(failedOver, old).role).not.toBe('primary')
    expect(stateOf(failedOver, old).health).toBe(0)
    // The new primary writes on its new timeline.
    expect((await psql(databaseUrl, "insert into ledger select g, 'after failover' from generate_series(101, 200) g")).stderr).toBe('')
    const primaryTli = Number(
      (await psql(nodeDsn(databaseUrl, nodeAddress(primary)), 'select timeline_id from pg_control_checkpoint()')).stdout,
    )

    // The old VM powers back on (sshd only: nothing starts the keeper), and its Postgres is
    // started by hand, reachable through its socket only, and takes a write of its own on the
    // old timeline: two histories of one table from the same fork point.
    expect((await labCli('restart', oldVm)).code).toBe(0)
    await labCli('exec', oldVm, '--user', 'postgres', '--', 'rm', '-f', `${NODE_PGDATA}/postmaster.pid`)
    await pgCtl(oldVm, '-w', '-t', '60', '-l', '/tmp/diverge.log', '-o', "-c listen_addresses=''", 'start')
    expect(await localSql(oldVm, dbname, 'select pg_is_in_recovery()')).toBe('f')
    await localSql(oldVm, dbname, 'set synchronous_commit = local', "insert into ledger values (-1, 'diverged')")
    const oldTli = Number(await localSql(oldVm, dbname, 'checkpoint', 'select timeline_id from pg_control_checkpoint()'))
    expect(await localSql(oldVm, dbname, "select count(*) from ledger where note = 'diverged'")).toBe('1')
    await pgCtl(oldVm, '-w', '-m', 'fast', 'stop')
    expect(oldTli, 'the old primary stayed on the timeline the new primary forked from').toBeLessThan(primaryTli)
    expect(
      (await psql(databaseUrl, 'select count(*) from ledger where id = -1')).stdout,
      'the diverged row exists only on the old primary',
    ).toBe('0')

    // Refusals: exit 2 and nothing changes.
    const unchanged = snapshot((await status()).view)
    const onPrimary = await script('rejoin', '--node', primary, '--yes')
    expect(onPrimary.code).toBe(2)
    expect(onPrimary.stderr).toMatch(new RegExp(`${primary} is the current primary`))
    const noYes = await script('rejoin', '--node', old)
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toMatch(new RegExp(`deletes ${old}'s data .* Add --yes to confirm`))
    expect(snapshot((await status()).view)).toEqual(unchanged)
    expect(await exists(inVmHome(oldVm, 'pgaf/node/PG_VERSION')), "the old primary's data is still there").toBe(true)

    const rejoinAt = Date.now()
    const out = await script('rejoin', '--node', old, '--yes', '--json')
    log(`rejoin of the diverged ${old}: ${seconds(rejoinAt)}`)
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(changedSteps(out)).toEqual(
      expect.arrayContaining([`${old}: drop from monitor`, `${old}: delete data`, `${old}: create`, `${old}: service`]),
    )

    const view = await expectHealthy(['node1', 'node2', 'node3'])
    expect(primaryOf(view)).toBe(primary)
    expect(stateOf(view, old)).toMatchObject({ role: 'secondary', reported_state: 'secondary', health: 1 })
    expect(stateOf(view, old).tli, "the rebuilt node follows the primary's timeline").toBe(stateOf(view, primary).tli)
    expect(stateOf(view, old).tli).toBe(primaryTli)
    // Its data is the primary's: the diverged row is gone, every row of the new timeline is there,
    // and a row written after the rejoin reaches it.
    const oldDsn = nodeDsn(databaseUrl, nodeAddress(old))
    expect((await psql(oldDsn, "select count(*), count(*) filter (where note = 'diverged'), pg_is_in_recovery() from ledger")).stdout).toBe(
      '200|0|t',
    )
    expect((await psql(databaseUrl, "insert into ledger values (201, 'after rejoin')")).stderr).toBe('')
    const seen = await waitFor(async () => (await psql(oldDsn, 'select note from ledger where id = 201')).stdout === 'after rejoin', {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: `row 201 on ${old}`,
    })
    expect(seen).toBe(true)
  })

  it('adds a 4th node (vm4) to the inventory and joins it with add-node.mjs', async () => {
    await writeInventory({ withVm4: true })
    // The inventory now lists 4 nodes, the monitor knows 3: status says so.
    const { view: before } = await status()
    expect(before.healthy).toBe(false)
    expect(before.problems).toContain('the monitor knows 3 nodes, the inventory has 4')

    const startedAt = Date.now()
    const out = await script('add-node', '--node', 'node4', '--env-output', envFile(), '--json')
    log(`add-node node4: ${seconds(startedAt)}`)
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(changedSteps(out)).toEqual(expect.arrayContaining(['passfile', 'node4: create', 'node4: service', 'application DSN']))

    const view = await expectHealthy(['node1', 'node2', 'node3', 'node4'])
    expect(stateOf(view, 'node4')).toMatchObject({
      role: 'secondary',
      reported_state: 'secondary',
      health: 1,
      host: `${prefix}.14`,
      port: 5432,
    })
    const rewrittenUrl = /^DATABASE_URL='(.*)'$/m.exec(await fs.readFile(envFile(), 'utf8'))?.[1]
    expect(rewrittenUrl).toContain(`${prefix}.14:5432`)
    if (!rewrittenUrl) throw new Error('no DATABASE_URL in the env file')
    databaseUrl = rewrittenUrl
    expect((await psql(nodeDsn(databaseUrl, `${prefix}.14`), 'select count(*), pg_is_in_recovery() from ledger')).stdout).toBe('201|t')
    expect(await pgProcesses('vm4')).not.toEqual([])
  })

  it('sets up pgBackRest over ssh: repository on vm3, a server per VM as a plain service, archiving on; a re-run changes nothing', async () => {
    await writeInventory({ withVm4: true, withBackup: true })
    expect(await fs.readFile(inventory, 'utf8')).not.toMatch(/lab_name|lab_vm/)
    const startedAt = Date.now()
    const setup = await script('backup', '--setup', '--json')
    log(`backup --setup: ${seconds(startedAt)}`)
    expect(setup.stderr).toBe('')
    expect(setup.code).toBe(0)
    const records = jsonLines(setup.stdout)
    expect(records.find((r) => r.step === 'hosts reachable')?.detail).toBe('4 data nodes and repository host vm3-backup over ssh')
    expect(records.find((r) => r.step === 'backup: stanza')?.status).toBe('changed')
    expect(records.find((r) => r.step === 'backup: check')?.status).toBe('ok')
    expect(records.filter((r) => r.step === 'backup: pgbackrest server').map((r) => [r.host, r.status])).toEqual([
      ['vm3-backup', 'changed'],
      ['vm1', 'changed'],
      ['vm2', 'changed'],
      ['vm4', 'changed'],
    ])
    // One server per VM, as the Postgres user, started with setsid + nohup (these VMs run no
    // systemd); vm3's with repo.conf (the repository and node3 share its address).
    const postgresUid = Number(/^postgres:[^:]*:(\d+):/m.exec(await fs.readFile('/etc/passwd', 'utf8'))?.[1])
    for (const vm of ['vm1', 'vm2', 'vm3', 'vm4']) {
      const server = await pgbackrestServer(vm)
      expect(server, vm).toMatchObject({ uid: postgresUid })
      expect(server?.cmdline, vm).toBe(
        `pgbackrest --config=/var/lib/postgresql/.pgha/pgbackrest/${vm === 'vm3' ? 'repo' : 'node'}.conf server`,
      )
    }
    // Secrets and keys are the Postgres user's alone.
    for (const [vm, file] of [
      ['vm1', 'node.conf'],
      ['vm3', 'repo.conf'],
      ['vm4', 'tls/host.key'],
    ]) {
      expect(((await fs.stat(inVmHome(String(vm), `.pgha/pgbackrest/${file}`))).mode & 0o777).toString(8), `${vm}: ${file}`).toBe('600')
    }
    const view = await expectHealthy(['node1', 'node2', 'node3', 'node4'])
    for (const node of view.nodes) {
      expect(await psql(nodeDsn(databaseUrl, node.host), 'show archive_mode'), node.name).toMatchObject({ stdout: 'on' })
    }

    const again = await script('backup', '--setup', '--json')
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    expect(changedSteps(again)).toEqual([])
  })

  it('takes a full backup from a standby, restores the latest writes into vm4 and removes that server as restore.mjs says', async () => {
    let startedAt = Date.now()
    const full = await script('backup', '--type', 'full')
    log(`backup --type full: ${seconds(startedAt)}`)
    expect(full.stderr).toBe('')
    expect(full.code).toBe(0)
    expect(full.stdout).toMatch(/backup \[vm3-backup\]: \S+F \(full\) from standby node\d/)
    // Written after the backup: only the archived WAL brings them back.
    expect((await psql(databaseUrl, "insert into ledger select g, 'after backup' from generate_series(301, 310) g")).stderr).toBe('')

    startedAt = Date.now()
    const out = await script('restore', '--latest', '--into', 'vm4', '--json')
    log(`restore --latest --into vm4: ${seconds(startedAt)}`)
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    /** @type {{host: string, address: string, port: number, pgdata: string, stop: string}} */
    const restored = jsonLines(out.stdout).find((r) => r.step === 'done')?.restore
    expect(restored).toMatchObject({ host: 'vm4', address: `${prefix}.14` })
    expect(restored.port).toBeGreaterThanOrEqual(5440)
    expect(restored.pgdata).toMatch(/^\/var\/lib\/postgresql\/\.pgha\/restore\/default-\d{8}T\d{6}$/)
    const { dbname, user, password } = parseDatabaseUrl(databaseUrl)
    const dsn = `host=${restored.address} port=${restored.port} dbname=${dbname} user=${user} password=${password} connect_timeout=3`
    expect((await psql(dsn, "select count(*), count(*) filter (where note = 'after backup') from ledger")).stdout).toBe('211|10')
    expect((await psql(dsn, 'select pg_is_in_recovery(), current_setting($$archive_mode$$)')).stdout).toBe('f|off')
    const scratch = inVmHome('vm4', path.relative('/var/lib/postgresql', restored.pgdata))
    expect(await exists(path.join(scratch, 'PG_VERSION'))).toBe(true)
    expect((await pgProcesses('vm4')).filter((p) => p.includes(restored.pgdata))).not.toEqual([])

    // The removal exactly as printed, run as that user over ssh with a stock Debian PATH (this
    // machine also links pg_ctl into /usr/local/bin, which a real VM does not have).
    const how = /^on (\S+) as (\S+): (.+)$/.exec(restored.stop)
    expect(how?.slice(1, 3)).toEqual(['vm4', 'postgres'])
    const removed = await sshRoot('vm4', `su - postgres -c ${shellQuote(`PATH=/usr/bin:/bin; ${how?.[3]}`)}`)
    expect(removed.code, removed.stderr).toBe(0)
    expect((await psql(dsn, 'select 1')).stdout).toBe('')
    expect(await exists(scratch)).toBe(false)
    expect((await pgProcesses('vm4')).filter((p) => p.includes(restored.pgdata))).toEqual([])
    await expectHealthy(['node1', 'node2', 'node3', 'node4'])
  })

  it('tears the cluster down over ssh: monitor and nodes gone, no pg_autoctl left on any VM', async () => {
    // Every VM was reached through its own sshd, vm4 included.
    for (const vm of lab.vms) {
      const sshdLog = await fs.readFile(path.join(vm.logDir, 'sshd.log'), 'utf8')
      expect(sshdLog, vm.vm).toMatch(new RegExp(`Accepted publickey for root from ${lab.gateway.replaceAll('.', '\\.')} port \\d+ ssh2`))
    }
    for (const vm of ['vm1', 'vm2', 'vm3', 'vm4']) expect((await pgProcesses(vm)).join('\n'), vm).toMatch(/pg_autoctl/)

    const startedAt = Date.now()
    const out = await script('teardown', '--yes', '--json')
    log(`teardown: ${seconds(startedAt)}`)
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    const records = jsonLines(out.stdout)
    expect(records.find((r) => r.step === 'hosts reachable')?.detail).toBe('5 hosts over ssh')
    expect(changedSteps(out)).toEqual([
      'node4: stop',
      'node4: data',
      'node3: stop',
      'node3: data',
      'node2: stop',
      'node2: data',
      'node1: stop',
      'node1: data',
      'monitor: stop',
      'monitor: data',
      'backup: pgbackrest server',
      'backup: pgbackrest server',
      'backup: pgbackrest server',
      'passfile',
      'passfile',
      'passfile',
      'passfile',
    ])

    for (const vm of ['vm1', 'vm2', 'vm3', 'vm4']) {
      expect(await pgProcesses(vm), vm).toEqual([])
      expect(await exists(inVmHome(vm, 'pgaf/node')), `${vm}: data`).toBe(false)
      expect(await exists(inVmHome(vm, '.pgpass')), `${vm}: .pgpass`).toBe(false)
      // The repository host's backup server stays: the repository outlives the cluster
      // (restore.mjs reads it, --promote-as-cluster rebuilds a cluster from it). The others go.
      expect(
        (await fs.readdir(inVmHome(vm, '.pgha-services'))).filter((f) => f.endsWith('.pid')),
        vm,
      ).toEqual(vm === 'vm3' ? ['pgbackrest-server.pid'] : [])
    }
    expect(await exists(inVmHome('vm3', 'pgaf/monitor')), 'monitor data').toBe(false)
    // The VMs stay up, sshd and all.
    /** @type {LabStatus} */
    const labStatus = JSON.parse((await labCli('status', '--json')).stdout)
    expect(labStatus.vms.map((vm) => `${vm.link}:${vm.services.map((s) => `${s.name}:${Boolean(s.pid)}`).join(',')}`)).toEqual([
      'up:sshd:true',
      'up:sshd:true',
      'up:sshd:true',
      'up:sshd:true',
    ])

    // status: no monitor to ask any more, said plainly with exit 1.
    // With --json, at most an error record on stdout, never a view of nodes.
    const after = await script('status', '--json')
    expect(after.code).toBe(1)
    expect(after.stderr).toMatch(/^status: failed: .*vm3-monitor.*\.s\.PGSQL\.5431/)
    expect(after.stdout).not.toContain('"nodes"')
    expect(jsonLines(after.stdout).filter((r) => r.event !== 'error')).toEqual([])

    // Idempotent: a second teardown finds nothing to do.
    const again = await script('teardown', '--yes', '--json')
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    expect(changedSteps(again)).toEqual([])
  })
})
