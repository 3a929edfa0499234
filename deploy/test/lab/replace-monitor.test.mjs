// replace-monitor.mjs on a 4-VM lab: the monitor on vm3 is lost for good, and node3 with it
// (vm3 carries both). The inventory's monitor group is pointed at vm4, node1 and node2 are
// re-registered with a new monitor there (node3 skipped, as the operator must say), and the new
// monitor then fails over when the primary's VM is powered off.
import fs from 'node:fs/promises'
import path from 'node:path'
import YAML from 'yaml'
import { $ } from 'zx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findVm } from '../../lab/lab-config.mjs'
import { powerOff } from '../../lab/lab.mjs'
import { stopService } from '../../lab/services.mjs'
import { vmCommand } from '../../lab/vm-exec.mjs'
import { roleOf } from '../../scripts/lib/cluster-health.mjs'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { monitorUri } from '../../scripts/lib/monitor-uri.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { jsonLines, psql, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

// The monitor's port in deploy/inventory/lab.yml, which the new one on vm4 keeps.
const MONITOR_PORT = 5432
const LAB = { name: 'pghrm', subnet: '10.213.59.0/24', profile: 'fast', vms: 4 }
const NODE_PGDATA = '/var/lib/postgresql/pgaf/node'
/**
 * A data node as the monitor's node table has it (status.mjs --json adds its role), the fields this suite reads.
 * @typedef {{node_id: number, name: string, host: string, reported_state: string, assigned_state: string, health: number}} MonitorNode
 * @typedef {MonitorNode & {role: string}} StatusNode
 * @typedef {{problems: string[], nodes: StatusNode[]}} StatusView status.mjs --json, the fields this suite reads
 */
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster
/** @type {string} */
let oldMonitorUri
const savedVms = process.env.PGHA_LAB_VMS

beforeAll(async () => {
  // The netns transport sizes a lab from PGHA_LAB_VMS (default 3): the scripts must know vm4.
  process.env.PGHA_LAB_VMS = String(LAB.vms)
  cluster = await startLabCluster(LAB)
  oldMonitorUri = monitorUri(await loadInventory(cluster.inventory.file))
})
afterAll(async () => {
  await stopLabCluster(cluster)
  if (savedVms === undefined) delete process.env.PGHA_LAB_VMS
  else process.env.PGHA_LAB_VMS = savedVms
})

/** @param {...string} args */
const replaceMonitor = (...args) => runScript('scripts/replace-monitor.mjs', ['--inventory', cluster.inventory.file, ...args])
/**
 * status.mjs --json (exit 1 while node3 is in the inventory but not on the monitor: still JSON).
 * @returns {Promise<StatusView>}
 */
async function status() {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return JSON.parse(out.stdout)
}
/** @param {StatusView} view */
const snapshot = (view) => view.nodes.map((n) => `${n.node_id}:${n.name}=${n.reported_state}/${n.assigned_state}`).sort()
/** What the keeper on a VM has as pg_autoctl.monitor, read on the VM itself. @param {string} vmName */
async function keeperMonitor(vmName) {
  const command = vmCommand(findVm(cluster.lab, vmName), ['pg_autoctl', 'config', 'get', '--pgdata', NODE_PGDATA, 'pg_autoctl.monitor'], {
    user: 'postgres',
    env: { PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin' },
  })
  return (await $({ quiet: true })`${command}`).stdout.trim()
}
/**
 * The new monitor's node table, read on vm4 itself. Not status.mjs while a failover runs: it calls
 * pgautofailover.synchronous_standby_names(), which crashes pg_auto_failover 2.0's monitor (a
 * NULL list in a 2-node group with no node in a primary state), and each crash stalls the failover.
 */
async function newMonitorNodes() {
  const query =
    "select coalesce(json_agg(t order by t.node_id), '[]') from (select nodeid as node_id, nodename as name, nodehost as host, " +
    'reportedstate::text as reported_state, goalstate::text as assigned_state, health from pgautofailover.node) t'
  const command = vmCommand(
    findVm(cluster.lab, 'vm4'),
    ['psql', '-X', '-At', '-h', '/var/run/postgresql', '-p', String(MONITOR_PORT), '-d', 'pg_auto_failover', '-c', query],
    { user: 'postgres' },
  )
  /** @type {MonitorNode[]} */
  const nodes = JSON.parse((await $({ quiet: true })`${command}`).stdout)
  return nodes.map((n) => ({ ...n, role: roleOf(n) }))
}
/** Lines of a node's Postgres log refusing the new monitor's health checks. @param {string} vmName */
async function rejectedHealthChecks(vmName) {
  const dir = path.join(findVm(cluster.lab, vmName).mounts['/var/lib/postgresql'], 'pgaf/node/log')
  const files = await fs.readdir(dir)
  const text = (await Promise.all(files.map((file) => fs.readFile(path.join(dir, file), 'utf8')))).join('\n')
  return text.split('\n').filter((line) => /no pg_hba\.conf entry for host "10\.213\.59\.14", user "pgautofailover_monitor"/.test(line))
}
/** Whether a monitor's data directory exists on vm4. */
const monitorOnVm4 = () =>
  fs.access(path.join(findVm(cluster.lab, 'vm4').mounts['/var/lib/postgresql'], 'pgaf/monitor')).then(
    () => true,
    () => false,
  )

describe('replace-monitor.mjs', () => {
  it('refuses (exit 2) while the inventory still names the live monitor: nothing to replace', async () => {
    const before = snapshot(await status())
    const out = await replaceMonitor('--yes')
    expect(out.code, out.stdout).toBe(2)
    expect(out.stderr).toMatch(
      /nothing to replace: node1, node2, node3 already use the inventory's monitor 10\.213\.59\.13:5432 .* sees them healthy/,
    )
    expect(snapshot(await status())).toEqual(before)
  })

  it('starts a monitor that was only down (same inventory) and moves nothing', async () => {
    const before = snapshot(await status())
    expect(await stopService(findVm(cluster.lab, 'vm3'), `pgautofailover-monitor-${MONITOR_PORT}`)).toBe(true)
    const out = await replaceMonitor('--yes', '--json')
    expect(out.code, out.stderr).toBe(0)
    const events = jsonLines(out.stdout)
    expect(events.filter((e) => e.status === 'changed').map((e) => e.step)).toEqual(['monitor: service'])
    expect(events.find((e) => e.step === 'done')?.detail).toMatch(
      /^nothing to replace: the monitor node1, node2, node3 use \(10\.213\.59\.13:5432\) was not answering/,
    )
    expect(snapshot(await status())).toEqual(before)
    // No mark on it: the next run still says there is nothing to replace.
    const again = await replaceMonitor('--yes')
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/nothing to replace/)
  })

  it('refuses (exit 2) while the old monitor still answers: it must be fenced first', async () => {
    // The operator's edit: the monitor group names vm4 (same port).
    const doc = YAML.parse(await fs.readFile(cluster.inventory.file, 'utf8'))
    const monitors = doc.all.children.monitor.hosts
    const old = monitors['vm3-monitor']
    delete monitors['vm3-monitor']
    monitors['vm4-monitor'] = { ...old, ansible_host: findVm(cluster.lab, 'vm4').address, lab_vm: 'vm4' }
    await fs.writeFile(cluster.inventory.file, YAML.stringify(doc))

    const out = await replaceMonitor('--yes')
    expect(out.code, out.stdout).toBe(2)
    expect(out.stdout).toMatch(/node1: current state \[vm1\]: primary, keeper on 10\.213\.59\.13:5432, which still answers/)
    expect(out.stderr).toMatch(
      /the old monitor 10\.213\.59\.13:5432 still answers: pg_auto_failover's procedure starts by fencing it.*Nothing was changed/,
    )
    expect(await monitorOnVm4()).toBe(false)
    expect(await keeperMonitor('vm1')).toBe(oldMonitorUri)
  })

  it('refuses bad input with exit 2 and changes nothing, once vm3 is lost', async () => {
    await powerOff(cluster.lab, 'vm3')
    const noYes = await replaceMonitor('--skip-node', 'node3')
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toMatch(
      /replace-monitor moves every data node to the monitor the inventory names \(vm4-monitor, 10\.213\.59\.14:5432\).*Add --yes to confirm/,
    )
    const unknownFlag = await replaceMonitor('--yes', '--skip-node', 'node3', '--force')
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr).toMatch(/unknown option --force/)
    const unknownNode = await replaceMonitor('--yes', '--skip-node', 'node9')
    expect(unknownNode.code).toBe(2)
    expect(unknownNode.stderr).toMatch(/--skip-node "node9" is not a node of the inventory \(node1, node2, node3\)/)
    // node3 went down with vm3: the operator has to say it is to be left out.
    const unreachable = await replaceMonitor('--yes')
    expect(unreachable.code).toBe(2)
    expect(unreachable.stdout).toMatch(/node3: current state \[vm3\]: UNREACHABLE/)
    expect(unreachable.stderr).toMatch(
      /cannot re-register node3 on vm3 \(its Postgres does not answer.*run again with --skip-node node3; nothing was changed/,
    )

    expect(await monitorOnVm4()).toBe(false)
    expect(await keeperMonitor('vm1')).toBe(oldMonitorUri)
    expect(await keeperMonitor('vm2')).toBe(oldMonitorUri)
  })

  it('moves node1 and node2 to a new monitor on vm4, primary first; a re-run is a no-op', async () => {
    const startedAt = Date.now()
    const out = await replaceMonitor('--yes', '--skip-node', 'node3', '--json')
    expect(out.code, out.stderr).toBe(0)
    const replaceS = (Date.now() - startedAt) / 1000
    const events = jsonLines(out.stdout)
    const changed = events.filter((e) => e.status === 'changed').map((e) => e.step)
    // pg_auto_failover's order: disable the standbys then the primary; enable the primary first.
    expect(changed).toEqual(expect.arrayContaining(['monitor: create', 'monitor: service']))
    expect(changed.filter((step) => /: (disable|enable) monitor$/.test(step))).toEqual([
      'node2: disable monitor',
      'node1: disable monitor',
      'node1: enable monitor',
      'node2: enable monitor',
    ])
    expect(events.find((e) => e.step === 'skipped')?.detail).toMatch(
      /^node3 on vm3 .* is not registered with 10\.213\.59\.14:5432.*rejoin\.mjs .* --node node3 --yes/,
    )
    expect(events.find((e) => e.step === 'status')?.nodes.map((/** @type {StatusNode} */ n) => `${n.name}=${n.role}`)).toEqual([
      'node1=primary',
      'node2=secondary',
    ])
    process.stdout.write(`replace-monitor (new monitor on vm4, node1 and node2 re-registered): ${replaceS.toFixed(1)} s\n`)

    // The new monitor (status.mjs reads the inventory's) sees node1 and node2, healthy, one primary.
    const view = await status()
    expect(
      view.nodes.map((n) => ({ name: n.name, role: n.role, health: n.health, settled: n.reported_state === n.assigned_state })),
    ).toEqual([
      { name: 'node1', role: 'primary', health: 1, settled: true },
      { name: 'node2', role: 'secondary', health: 1, settled: true },
    ])
    expect(view.problems).toEqual(['the monitor knows 2 nodes, the inventory has 3'])
    // The keepers use the new monitor, with the profile's keepalives.
    const newUri = monitorUri(await loadInventory(cluster.inventory.file))
    expect(newUri).toMatch(/@10\.213\.59\.14:5432\/.*keepalives=1.*tcp_user_timeout=/)
    expect(await keeperMonitor('vm1')).toBe(newUri)
    expect(await keeperMonitor('vm2')).toBe(newUri)
    // The nodes admit the new monitor's health checks: pg_auto_failover counts a rejected login as
    // "up" too, but each rejection would be a FATAL in the node's log every health_check_period.
    await new Promise((resolve) => setTimeout(resolve, 3000))
    for (const vm of ['vm1', 'vm2']) expect(await rejectedHealthChecks(vm), vm).toEqual([])
    expect(
      (
        await psql(
          cluster.databaseUrl,
          'create table if not exists after_replace(id int primary key); insert into after_replace values (1)',
        )
      ).stderr,
    ).toBe('')

    const before = snapshot(view)
    const again = await replaceMonitor('--yes', '--skip-node', 'node3')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/no change: node1, node2 already on the monitor on vm4-monitor/)
    expect(again.stdout).not.toMatch(/^\+/m)
    expect(snapshot(await status())).toEqual(before)
  })

  it("fails over through the new monitor when the primary's VM is powered off", async () => {
    const view = await status()
    const primary = view.nodes.find((n) => n.role === 'primary')
    const standby = view.nodes.find((n) => n.role === 'secondary')
    expect(primary && standby).toBeTruthy()
    if (!primary || !standby) throw new Error('status reports no primary or no secondary')
    const primaryVm = cluster.lab.vms.find((vm) => vm.address === primary.host)?.vm
    if (!primaryVm) throw new Error(`${primary.host} is no VM of lab ${cluster.lab.name}`)

    const cutAt = Date.now()
    await powerOff(cluster.lab, primaryVm)
    const promoted = await waitFor(
      async () => {
        const now = (await newMonitorNodes()).find((n) => n.name === standby.name)
        return now?.role === 'primary' ? now : null
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `${standby.name} to be primary per the new monitor` },
    )
    const promotedS = (Date.now() - cutAt) / 1000
    await waitFor(async () => (await psql(cluster.databaseUrl, 'insert into after_replace values (2)', { timeoutMs: 15_000 })).ok, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'a write through the application DSN',
    })
    const writeS = (Date.now() - cutAt) / 1000
    expect(promoted.reported_state).toMatch(/^(wait_primary|primary)$/)
    expect((await psql(cluster.databaseUrl, 'select count(*), host(inet_server_addr()) from after_replace')).stdout).toBe(
      `2|${standby.host}`,
    )

    // The new monitor decided it: its own event log, on the lab's one clock.
    const command = vmCommand(
      findVm(cluster.lab, 'vm4'),
      [
        'psql',
        '-X',
        '-At',
        '-h',
        '/var/run/postgresql',
        '-p',
        String(MONITOR_PORT),
        '-d',
        'pg_auto_failover',
        '-c',
        `select extract(epoch from eventtime) * 1000 from pgautofailover.event where nodename = '${standby.name}' and goalstate in ('wait_primary', 'primary') ` +
          `and reportedstate = goalstate and eventtime >= to_timestamp(${cutAt / 1000}) order by eventid limit 1`,
      ],
      { user: 'postgres' },
    )
    const promotedAt = Number((await $({ quiet: true })`${command}`).stdout.trim())
    expect(promotedAt).toBeGreaterThan(cutAt)
    process.stdout.write(
      `failover through the new monitor (${primary.name} powered off): ${standby.name} reported ${promoted.reported_state} ` +
        `${((promotedAt - cutAt) / 1000).toFixed(1)} s after the cut (new monitor's event log; seen ${promotedS.toFixed(1)} s), first write through the DSN after ${writeS.toFixed(1)} s\n`,
    )
  })

  it('refuses (exit 2) when no data node can be reached', async () => {
    const survivor = (await newMonitorNodes()).find((n) => n.role === 'primary')
    if (!survivor) throw new Error('the new monitor reports no primary')
    const survivorVm = cluster.lab.vms.find((vm) => vm.address === survivor.host)?.vm
    if (!survivorVm) throw new Error(`${survivor.host} is no VM of lab ${cluster.lab.name}`)
    await powerOff(cluster.lab, survivorVm)
    const out = await replaceMonitor('--yes', '--skip-node', 'node3')
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(/no data node can be reached, so none can be re-registered: node1 on vm1 .*node2 on vm2 .*node3 on vm3/)
  })
})
