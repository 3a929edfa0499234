// backup.mjs and restore.mjs on a lab cluster with a repository host on VM3: pgBackRest set up on
// a running cluster without a failover, a backup from a standby, archiving that follows a
// switchover, point-in-time restores that hold exactly the writes acknowledged before the target
// (across the switchover's new timeline, and to just before a DELETE by mistake), bad input
// refused with exit 2 before anything changes, writes going on with the repository down (archiving
// failing, behind, and at archive-push-queue-max reported; the gap dropped WAL leaves, until a
// backup), a restore over a node stopped and dropped from the formation (then rejoined), archiving
// on the new primary after a power-off with the repository down (the gap the old primary's
// unarchived segments leave), and, every node lost, a new cluster seeded by --promote-as-cluster
// at a target time and made by bring-up.
import fs from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findVm } from '../../lab/lab-config.mjs'
import { startService, stopService } from '../../lab/services.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import {
  addBackupHost,
  jsonLines,
  labFault,
  psql,
  startLabCluster,
  stopLabCluster,
  superuserSql,
  switchover,
} from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

const LAB = { name: 'pghbk', subnet: '10.213.68.0/24', profile: 'fast' }
const PREFIX = '10.213.68'
const LAG_MAX_SECONDS = 20
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster
/** The VM the power-off case leaves off. @type {string | undefined} */
let poweredOff

/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{name: string, role: string, reported_state: string, assigned_state: string}} StatusNode
 */

beforeAll(async () => {
  cluster = await startLabCluster(LAB)
  // The repository host: VM3, beside the monitor and node3, as in the users' three-VM layout.
  // Bounds small enough for the repository-down case to pass them in seconds: four segments
  // (64 MB) of WAL kept for the repository, archiving 20 s behind reported.
  await addBackupHost(cluster, 'vm3', { backup_archive_push_queue_max: '64MB', backup_archive_lag_max_seconds: LAG_MAX_SECONDS })
})
afterAll(async () => {
  await stopLabCluster(cluster, LAB)
})

/** @param {...string} args */
const backup = (...args) => runScript('scripts/backup.mjs', ['--inventory', cluster.inventory.file, ...args])
/** @param {...string} args */
const restore = (...args) => runScript('scripts/restore.mjs', ['--inventory', cluster.inventory.file, ...args])
/** @returns {Promise<StatusNode[]>} */
async function nodes() {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return JSON.parse(out.stdout).nodes
}
/** status.mjs --json, all of it. @returns {Promise<any>} */
async function statusView() {
  return JSON.parse((await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])).stdout)
}
/** @param {string} sql */
async function write(sql) {
  const out = await psql(cluster.databaseUrl, sql)
  if (!out.ok) throw new Error(`write failed: ${out.stderr}`)
  return out.stdout
}
/**
 * Inserts rows one statement each; returns the ids acknowledged.
 * @param {string} phase @param {number} from @param {number} count
 */
async function writeRows(phase, from, count) {
  const acked = []
  for (let id = from; id < from + count; id++) {
    if ((await psql(cluster.databaseUrl, `insert into bk (id, phase) values (${id}, '${phase}')`)).ok) acked.push(id)
  }
  return acked
}
/**
 * The server restore.mjs started, from its --json output.
 * @param {{code: number | null, stdout: string, stderr: string}} out
 * @returns {{address: string, port: number, pgdata: string, host: string, stop: string, node?: string, rejoin?: string}}
 */
function restored(out) {
  expect(out.code, out.stdout + out.stderr).toBe(0)
  const done = jsonLines(out.stdout).find((e) => e.step === 'done')
  expect(done?.restore).toBeDefined()
  return done.restore
}
/** @param {{address: string, port: number}} server @param {string} sql */
async function queryRestored(server, sql) {
  const dsn = `host=${server.address} port=${server.port} dbname=app user=app password=${cluster.password} connect_timeout=3`
  const out = await psql(dsn, sql)
  if (!out.ok) throw new Error(`query on the restored server failed: ${out.stderr}`)
  return out.stdout
}
/** The scratch directories on a VM. @param {string} vm */
async function restoreDirs(vm) {
  const home = findVm(cluster.lab, vm).mounts['/var/lib/postgresql']
  return (await fs.readdir(`${home}/.pgha/restore`).catch(() => [])).sort()
}
/** backup.mjs --list without its progress lines (their timings vary). */
async function listed() {
  const out = await backup('--list')
  return out.stdout
    .split('\n')
    .filter((line) => !/^[=+!-] /.test(line))
    .join('\n')
}
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** A command on a lab VM as the Postgres user, as an operator would run it there. @param {string} vm @param {...string} argv */
const onVm = (vm, ...argv) =>
  runScript('lab/cli.mjs', ['exec', vm, '--name', cluster.lab.name, '--subnet', cluster.lab.subnet, '--user', 'postgres', '--', ...argv])
const NODE_PGDATA = '/var/lib/postgresql/pgaf/node'
const MONITOR_PGDATA = '/var/lib/postgresql/pgaf/monitor'

describe('backup.mjs and restore.mjs', () => {
  it('--setup configures pgBackRest on a running cluster without a failover; a re-run changes nothing', async () => {
    const before = await nodes()
    const setup = await backup('--setup', '--json')
    expect(setup.code, setup.stdout + setup.stderr).toBe(0)
    const steps = jsonLines(setup.stdout).filter((e) => e.event === 'step')
    expect(steps.find((e) => e.step === 'backup: stanza')?.status).toBe('changed')
    expect(steps.find((e) => e.step === 'backup: check')?.status).toBe('ok')
    // The primary was handed over by a planned switchover before its restart, never failed.
    expect(steps.find((e) => e.step === "switchover for the primary's restart")?.detail).toMatch(/node1 handed over to node\d/)
    for (const node of await nodes()) {
      expect(node.reported_state).toMatch(/^(primary|secondary)$/)
      expect(node.assigned_state).toBe(node.reported_state)
    }
    expect(before.find((n) => n.role === 'primary')?.name).toBe('node1')

    const again = await backup('--setup', '--json')
    expect(again.code, again.stderr).toBe(0)
    expect(
      jsonLines(again.stdout)
        .filter((e) => e.status === 'changed')
        .map((e) => e.step),
    ).toEqual([])
  })

  it('restores to a time after a switchover: every write acknowledged before it, none after', async () => {
    await write('create table bk (id int primary key, phase text not null)')
    const full = await backup('--type', 'full')
    expect(full.code, full.stderr).toBe(0)
    expect(full.stdout).toMatch(/backup \[vm3-backup\]: \S+F \(full\) from standby node\d/)

    const beforeSwitchover = await writeRows('before', 1, 20)
    const oldPrimary = (await nodes()).find((n) => n.role === 'primary')?.name
    await switchover(cluster)
    expect((await nodes()).find((n) => n.role === 'primary')?.name).not.toBe(oldPrimary)
    const afterSwitchover = await writeRows('after', 100, 20)
    await sleep(300)
    const target = new Date().toISOString()
    await sleep(300)
    const late = await writeRows('late', 200, 20)
    expect([beforeSwitchover.length, afterSwitchover.length, late.length]).toEqual([20, 20, 20])

    // The new primary archives: pgbackrest check passes there.
    const check = await backup('--check')
    expect(check.code, check.stderr).toBe(0)

    const server = restored(await restore('--target-time', target, '--into', 'vm1', '--json'))
    const ids = (await queryRestored(server, 'select id from bk order by id')).split('\n').filter(Boolean).map(Number)
    expect(ids).toEqual([...beforeSwitchover, ...afterSwitchover])
    // Promoted at the target, on a timeline after the switchover's, and not archiving.
    expect(await queryRestored(server, 'select pg_is_in_recovery()')).toBe('f')
    expect(await queryRestored(server, 'show archive_mode')).toBe('off')
  })

  it('a DELETE by mistake: restored to just before it, the rows are back', async () => {
    const [lsn] = (await write('select pg_current_wal_lsn()')).split('\n')
    expect(lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    await write("delete from bk where phase = 'before'")
    expect(await write("select count(*) from bk where phase = 'before'")).toBe('0')

    const server = restored(await restore('--target-lsn', String(lsn), '--into', 'vm2', '--json'))
    expect(await queryRestored(server, "select count(*) from bk where phase = 'before'")).toBe('20')
    expect(await queryRestored(server, 'select count(*) from bk')).toBe('60')
  })

  it('--list shows the backups and the recoverable window; status.mjs the last backup and archiving', async () => {
    const status = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
    expect(status.code, status.stderr).toBe(0)
    const view = JSON.parse(status.stdout)
    const primary = view.nodes.find((/** @type {StatusNode} */ n) => n.role === 'primary')?.name
    expect(view.backup).toMatchObject({
      stanza: 'default',
      backups: 1,
      problems: [],
      archiver: { node: primary, failed_count: 0, failing: false },
    })
    expect(view.backup.last_backup).toMatchObject({ type: 'full' })
    expect(view.backup.last_backup.age_seconds).toBeLessThan(300)
    expect(view.backup.archiver.archived_count).toBeGreaterThan(0)
    const text = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file])
    expect(text.stdout).toMatch(
      /^backup: stanza default; last backup \S+F \(full\), \d+ s ago; archiving: \d+ WAL archived by node\d, 0 failed$/m,
    )

    const list = await backup('--list')
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toMatch(/^stanza default: ok$/m)
    expect(list.stdout).toMatch(/^\S+F\s+full\s/m)
    expect(list.stdout).toMatch(/^recoverable: from \S+Z \(end of \S+F\) to the last archived WAL [0-9A-F]{24}$/m)
  })

  it('refuses bad input with exit 2, naming it, and changes nothing', async () => {
    const dirsBefore = await restoreDirs('vm1')
    const backupsBefore = await listed()

    const early = await restore('--target-time', '2000-01-01T00:00:00Z', '--into', 'vm1')
    expect(early.code, early.stdout + early.stderr).toBe(2)
    expect(early.stderr).toMatch(/--target-time 2000-01-01T00:00:00Z is before the end of the oldest backup \S+F/)

    const primary = (await nodes()).find((n) => n.role === 'primary')?.name
    const overNode = await restore('--latest', '--into', 'vm1', '--pgdata', '/var/lib/postgresql/pgaf/node')
    expect(overNode.code, overNode.stdout + overNode.stderr).toBe(2)
    expect(overNode.stderr).toMatch(
      /--pgdata \/var\/lib\/postgresql\/pgaf\/node is the data directory of cluster node node1 on vm1 \(running\)/,
    )
    // --yes over a node still in the cluster: everything that ties it there is named.
    const overRunningNode = await restore('--latest', '--into', 'vm1', '--pgdata', NODE_PGDATA, '--yes')
    expect(overRunningNode.code, overRunningNode.stdout + overRunningNode.stderr).toBe(2)
    expect(overRunningNode.stderr).toMatch(
      /node1 on vm1 \(\S+:5432\) is not out of the cluster: its Postgres accepts connections; its keeper runs \(pgautofailover-node-5432\); the monitor lists it as (primary|secondary)\b/,
    )
    const overMonitor = await restore('--latest', '--into', 'vm3', '--pgdata', MONITOR_PGDATA, '--yes')
    expect(overMonitor.code, overMonitor.stdout + overMonitor.stderr).toBe(2)
    expect(overMonitor.stderr).toMatch(
      /--pgdata \/var\/lib\/postgresql\/pgaf\/monitor is the data directory of the monitor on vm3 \(running\): a restore never goes over the monitor/,
    )
    const insideNode = await restore('--latest', '--into', 'vm1', '--pgdata', `${NODE_PGDATA}/base`, '--yes')
    expect(insideNode.code, insideNode.stdout + insideNode.stderr).toBe(2)
    expect(insideNode.stderr).toMatch(/is inside or around the data directory of cluster node node1 on vm1 \(running\)/)
    // --yes confirms replacing a node's data only: with a scratch directory it is refused, not ignored.
    const yesScratch = await restore('--latest', '--into', 'vm1', '--pgdata', '/var/lib/postgresql/.pgha/restore/scratch', '--yes')
    expect(yesScratch.code, yesScratch.stdout + yesScratch.stderr).toBe(2)
    expect(yesScratch.stderr).toMatch(
      /--pgdata \/var\/lib\/postgresql\/\.pgha\/restore\/scratch is none on vm1 \(node1: \/var\/lib\/postgresql\/pgaf\/node\): leave out --yes/,
    )
    const yesAlone = await restore('--latest', '--into', 'vm1', '--yes')
    expect(yesAlone.code, yesAlone.stdout + yesAlone.stderr).toBe(2)
    expect(yesAlone.stderr).toMatch(/--yes goes with --pgdata <a data node's data directory>/)

    const vm3 = findVm(cluster.lab, 'vm3')
    await stopService(vm3, 'pgbackrest-server')
    try {
      const unreachable = await restore('--latest', '--into', 'vm1')
      expect(unreachable.code, unreachable.stdout + unreachable.stderr).toBe(2)
      expect(unreachable.stderr).toMatch(
        new RegExp(
          `the repository on vm3-backup \\(${PREFIX.replaceAll('.', '\\.')}\\.13:8432, stanza default\\) cannot be read from vm1: .*Connection refused`,
        ),
      )
    } finally {
      await startService(vm3, 'pgbackrest-server')
    }

    const overRunning = await restore('--latest', '--promote-as-cluster', '--yes')
    expect(overRunning.code, overRunning.stdout + overRunning.stderr).toBe(2)
    expect(overRunning.stderr).toMatch(/node1 on vm1 \(\S+:5432\) is running: --promote-as-cluster rebuilds a cluster that is lost/)
    const unconfirmed = await restore('--latest', '--promote-as-cluster')
    expect(unconfirmed.code, unconfirmed.stdout + unconfirmed.stderr).toBe(2)
    expect(unconfirmed.stderr).toMatch(/add --yes to confirm/)
    const withInto = await restore('--latest', '--promote-as-cluster', '--yes', '--into', 'vm1')
    expect(withInto.code, withInto.stdout + withInto.stderr).toBe(2)
    expect(withInto.stderr).toMatch(/--into does not go with --promote-as-cluster/)

    const unknownOption = await backup('--bogus')
    expect(unknownOption.code, unknownOption.stdout + unknownOption.stderr).toBe(2)
    expect(unknownOption.stderr).toMatch(/unknown option --bogus/)
    const help = await restore('--help', '--latest', '--into', 'vm1')
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^usage: restore\.mjs/)

    expect(await restoreDirs('vm1')).toEqual(dirsBefore)
    expect(await listed()).toBe(backupsBefore)
    expect(primary).toBeDefined()
  })

  it('writes go on while the repository is down; failing, behind and at the queue bound are reported; the gap dropped WAL leaves, until the next backup', async () => {
    const primary = String((await statusView()).nodes.find((/** @type {StatusNode} */ n) => n.role === 'primary')?.name)
    const primaryVm = `vm${primary.slice(-1)}`
    const vm3 = findVm(cluster.lab, 'vm3')
    await stopService(vm3, 'pgbackrest-server')
    try {
      expect(await writeRows('repo-down', 400, 5)).toHaveLength(5)
      await superuserSql(cluster, primaryVm, 'select pg_switch_wal()')
      const failing = await waitFor(
        async () => {
          const view = await statusView()
          return view.backup?.archiver?.failing ? view : null
        },
        { timeoutMs: 45_000, what: 'status.mjs to report archiving failing' },
      )
      expect(failing.healthy).toBe(true)
      expect(failing.backup.problems.join('\n')).toMatch(/^archive_command failing on node\d: \d+ failures, last for [0-9A-F]{24}/m)

      const behind = await waitFor(
        async () => {
          const view = await statusView()
          return view.backup?.archiver?.behind ? view : null
        },
        { timeoutMs: 60_000, what: `status.mjs to report archiving more than ${LAG_MAX_SECONDS} s behind` },
      )
      expect(behind.backup.archiver.lag_seconds).toBeGreaterThan(LAG_MAX_SECONDS)
      expect(behind.backup.problems.join('\n')).toMatch(
        new RegExp(
          `^archiving on ${primary} is \\d+ s behind \\(bound ${LAG_MAX_SECONDS} s, backup_archive_lag_max_seconds\\): \\d+ segments? \\(\\d+ MB\\) waiting`,
          'm',
        ),
      )
      const text = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file])
      expect(text.stdout).toMatch(/, \d+ segments? \(\d+ MB\) waiting, the oldest for \d+ s$/m)

      // Six more segments, seven waiting: past 64 MB pgBackRest reports the oldest archived and
      // drops it, so no more than four stay in pg_wal however long the repository is gone.
      for (let i = 0; i < 6; i++) {
        expect(await writeRows('repo-down-queue', 410 + i, 1)).toHaveLength(1)
        await superuserSql(cluster, primaryVm, 'select pg_switch_wal()')
      }
      const atBound = await waitFor(
        async () => {
          const view = await statusView()
          const a = view.backup?.archiver
          return a?.waiting_segments <= 4 && view.backup.problems.some((/** @type {string} */ p) => p.includes('at archive-push-queue-max'))
            ? view
            : null
        },
        { timeoutMs: 90_000, what: 'pg_wal to stay at archive-push-queue-max (64 MB), pgBackRest dropping the oldest segments' },
      )
      expect(atBound.backup.archiver.waiting_bytes).toBeLessThanOrEqual(64 * 1024 * 1024)
      expect(atBound.backup.problems.join('\n')).toMatch(
        new RegExp(
          `^${primary} has 4 segments \\(64 MB\\) waiting, the oldest for \\d+ \\w+, at archive-push-queue-max \\(64 MB\\): pgBackRest drops the oldest segments`,
          'm',
        ),
      )
    } finally {
      await startService(vm3, 'pgbackrest-server')
    }
    // pgbackrest check switches WAL (waking the archiver) and waits until that segment is archived,
    // which the archiver reaches only after every segment before it.
    await waitFor(async () => (await backup('--check')).code === 0, { timeoutMs: 90_000, what: 'pgbackrest check to pass again' })
    const after = await statusView()
    expect(after.backup.archiver).toMatchObject({ failing: false, behind: false, waiting_segments: 0 })
    // What was dropped is missing from the archive: reported, in status and --list, until a backup
    // taken after it. Seven segments closed, four kept: three at least (archive_timeout may close more).
    expect(after.backup.archive_gap.segments).toBeGreaterThanOrEqual(3)
    expect(after.backup.problems).toEqual([
      expect.stringMatching(
        /^the archive misses \d+ WAL segments since the last backup began \([0-9A-F]+\/[0-9A-F]+ to [0-9A-F]+\/[0-9A-F]+: dropped at archive-push-queue-max, or never archived/,
      ),
    ])
    expect(await listed()).toMatch(/^ {2}except: the archive misses \d+ WAL segments/m)
    const incr = await backup()
    expect(incr.code, incr.stdout + incr.stderr).toBe(0)
    const cleared = await statusView()
    expect(cleared.backup.archive_gap).toBeNull()
    expect(cleared.backup.problems).toEqual([])
  })

  it('--yes over a node out of the cluster: refused while node3 runs or is listed; once dropped, restored there; rejoined', async () => {
    const vm3 = findVm(cluster.lab, 'vm3')
    const keeper = 'pgautofailover-node-5433'
    const home = vm3.mounts['/var/lib/postgresql']
    const overNode3 = () => restore('--latest', '--into', 'vm3', '--pgdata', NODE_PGDATA, '--yes')
    /** What a refusal must leave: node3's data, pg_autoctl's files for it, its keeper's service. */
    const node3Intact = async () => {
      for (const file of [
        `${home}/pgaf/node/PG_VERSION`,
        `${home}/.config/pg_autoctl${NODE_PGDATA}/pg_autoctl.cfg`,
        `${vm3.servicesDir}/${keeper}.json`,
      ])
        await fs.access(file)
    }
    expect(await writeRows('before-node-restore', 450, 5)).toHaveLength(5)
    const total = await write('select count(*) from bk')

    const running = await overNode3()
    expect(running.code, running.stdout + running.stderr).toBe(2)
    expect(running.stderr).toMatch(
      /node3 on vm3 \(\S+:5433\) is not out of the cluster: its Postgres accepts connections; its keeper runs \(pgautofailover-node-5433\); the monitor lists it as secondary\b/,
    )

    // Stopped (the keeper stops its Postgres) but still in the formation.
    await stopService(vm3, keeper)
    await waitFor(async () => (await onVm('vm3', 'pg_ctl', 'status', '-D', NODE_PGDATA)).code !== 0, {
      timeoutMs: 30_000,
      what: "node3's Postgres to stop with its keeper",
    })
    const listed = await overNode3()
    expect(listed.code, listed.stdout + listed.stderr).toBe(2)
    // The monitor's listing is the only tie left.
    expect(listed.stderr).toMatch(
      /node3 on vm3 \(\S+:5433\) is not out of the cluster: the monitor lists it as \w+( \(assigned \w+\))?\. --yes/,
    )

    // Dropped on the monitor, as the refusal says (--force: its keeper is stopped).
    const drop = await onVm(
      'vm3',
      'pg_autoctl',
      'drop',
      'node',
      '--pgdata',
      MONITOR_PGDATA,
      '--hostname',
      `${PREFIX}.13`,
      '--pgport',
      '5433',
      '--force',
    )
    expect(drop.code, drop.stdout + drop.stderr).toBe(0)
    await waitFor(async () => !(await nodes()).some((n) => n.name === 'node3'), { timeoutMs: 60_000, what: 'the monitor to forget node3' })

    // Without the monitor's answer nothing shows node3 was dropped.
    await stopService(vm3, 'pgautofailover-monitor-5432')
    try {
      const blind = await overNode3()
      expect(blind.code, blind.stdout + blind.stderr).toBe(2)
      expect(blind.stderr).toMatch(
        /node3 on vm3 \(\S+:5433\) is not out of the cluster: the monitor on vm3-monitor \(\S+:5432\) does not answer/,
      )
    } finally {
      await startService(vm3, 'pgautofailover-monitor-5432')
    }
    await waitFor(
      async () => {
        const view = await nodes()
        return (
          view.length === 2 && view.every((n) => n.assigned_state === n.reported_state && /^(primary|secondary)$/.test(n.reported_state))
        )
      },
      { timeoutMs: 60_000, what: 'the monitor back, the two nodes left settled' },
    )
    await node3Intact()

    const out = await restore('--latest', '--into', 'vm3', '--pgdata', NODE_PGDATA, '--yes', '--json')
    const server = restored(out)
    const done = jsonLines(out.stdout).find((e) => e.step === 'done')
    expect(done.detail).toMatch(
      /stop it with on vm3 as postgres: \S*\/pg_ctl stop -D \/var\/lib\/postgresql\/pgaf\/node -m fast; node3 is out of the cluster until it is rebuilt from the primary with node deploy\/scripts\/rejoin\.mjs --inventory \S+ --node node3 --yes/,
    )
    expect(server).toMatchObject({ host: 'vm3', pgdata: NODE_PGDATA, node: 'node3' })
    expect(server.port).not.toBe(5433)
    // Every write acknowledged before the restore, promoted, not archiving into the cluster's stanza.
    expect(await queryRestored(server, "select count(*) from bk where phase = 'before-node-restore'")).toBe('5')
    expect(await queryRestored(server, 'select count(*) from bk')).toBe(total)
    expect(await queryRestored(server, 'select pg_is_in_recovery()')).toBe('f')
    expect(await queryRestored(server, 'show archive_mode')).toBe('off')
    // The dropped registration's files and the keeper's service are gone with the old data.
    await expect(fs.access(`${home}/.config/pg_autoctl${NODE_PGDATA}/pg_autoctl.cfg`)).rejects.toThrow()
    await expect(fs.access(`${vm3.servicesDir}/${keeper}.json`)).rejects.toThrow()
    // A restored server running there keeps node3 from being out of the cluster.
    const again = await overNode3()
    expect(again.code, again.stdout + again.stderr).toBe(2)
    expect(again.stderr).toMatch(/node3 on vm3 \(\S+:5433\) is not out of the cluster: its Postgres runs\./)

    // Stopped as printed, then back in the cluster as the output says.
    const stop = await onVm('vm3', 'sh', '-c', server.stop.replace(/^on vm3 as postgres: /, ''))
    expect(stop.code, stop.stdout + stop.stderr).toBe(0)
    const rejoin = await runScript('scripts/rejoin.mjs', ['--inventory', cluster.inventory.file, '--node', 'node3', '--yes'])
    expect(rejoin.code, rejoin.stdout + rejoin.stderr).toBe(0)
    const settled = await waitFor(
      async () => {
        const view = await nodes()
        return view.length === 3 &&
          view.every((n) => n.assigned_state === n.reported_state && /^(primary|secondary)$/.test(n.reported_state))
          ? view
          : null
      },
      { timeoutMs: 120_000, what: 'node3 back as a secondary beside the primary' },
    )
    expect(settled.find((n) => n.name === 'node3')?.role).toBe('secondary')
  })

  it("a power-off of the primary's VM with the repository down: the new primary archives; what the old one never archived is a gap, reported, that a backup closes", async () => {
    const oldPrimary = (await statusView()).nodes.find((/** @type {StatusNode} */ n) => n.role === 'primary')?.name
    // VM3 holds the monitor and the repository: the fault hits a VM with a data node only.
    expect(['node1', 'node2']).toContain(oldPrimary)
    poweredOff = `vm${String(oldPrimary).slice(-1)}`
    // Two segments closed while the repository is down die with the primary: the promoted standby
    // has their writes (synchronous replication) but archives only from its new timeline on.
    const vm3 = findVm(cluster.lab, 'vm3')
    await stopService(vm3, 'pgbackrest-server')
    try {
      for (const id of [480, 482]) {
        expect(await writeRows('backlog', id, 2)).toHaveLength(2)
        await superuserSql(cluster, poweredOff, 'select pg_switch_wal()')
      }
      await labFault(cluster, 'power-off', poweredOff)
    } finally {
      await startService(vm3, 'pgbackrest-server')
    }
    await waitFor(async () => (await psql(cluster.databaseUrl, "insert into bk (id, phase) values (500, 'after-power-off')")).ok, {
      timeoutMs: 90_000,
      what: 'a write through the DSN after the power-off',
    })
    expect(await writeRows('after-power-off', 501, 9)).toHaveLength(9)
    const check = await backup('--check')
    expect(check.code, check.stdout + check.stderr).toBe(0)
    const gap = (await statusView()).backup.archive_gap
    expect(gap?.segments).toBeGreaterThanOrEqual(2)
    // A restore stops at the gap, before the writes of the two lost segments and after them.
    const stopped = restored(await restore('--latest', '--into', 'vm3', '--json'))
    expect(await queryRestored(stopped, "select count(*) from bk where phase in ('backlog', 'after-power-off')")).toBe('0')
    const incr = await backup()
    expect(incr.code, incr.stdout + incr.stderr).toBe(0)
    expect((await statusView()).backup.archive_gap).toBeNull()
    const server = restored(await restore('--latest', '--into', 'vm3', '--json'))
    expect(await queryRestored(server, "select count(*) from bk where phase = 'backlog'")).toBe('4')
    expect(await queryRestored(server, "select count(*) from bk where phase = 'after-power-off'")).toBe('10')
  })
  it('every node lost: --promote-as-cluster seeds node1 at the target, bring-up makes the cluster from it, archiving goes on', async () => {
    if (poweredOff) await labFault(cluster, 'restart', poweredOff)
    const kept = await writeRows('before-loss', 600, 10)
    expect(kept).toHaveLength(10)
    await sleep(1100)
    const target = new Date().toISOString()
    await sleep(1100)
    expect(await writeRows('after-target', 700, 5)).toHaveLength(5)
    // Archived up to the last write, as a cluster lost after archive_timeout would have it.
    const check = await backup('--check')
    expect(check.code, check.stdout + check.stderr).toBe(0)

    const teardown = await runScript('scripts/teardown.mjs', ['--inventory', cluster.inventory.file, '--yes'])
    expect(teardown.code, teardown.stderr).toBe(0)

    const started = Date.now()
    const seeded = await restore('--target-time', target, '--promote-as-cluster', '--yes', '--json')
    expect(seeded.code, seeded.stdout + seeded.stderr).toBe(0)
    expect(jsonLines(seeded.stdout).find((e) => e.step === 'done')?.seed).toMatchObject({ node: 'node1' })
    const again = await restore('--target-time', target, '--promote-as-cluster', '--yes')
    expect(again.code, again.stdout + again.stderr).toBe(2)
    expect(again.stderr).toMatch(/node1's data directory \S+ on vm1 is not empty/)

    const bringup = await runScript('scripts/bringup.mjs', [
      '--inventory',
      cluster.inventory.file,
      '--env-output',
      cluster.inventory.envFile,
    ])
    expect(bringup.code, bringup.stderr).toBe(0)
    process.stdout.write(`every node lost: --promote-as-cluster, then bring-up: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
    const settled = await waitFor(
      async () => {
        const view = await nodes()
        return view.length === 3 &&
          view.filter((n) => n.role === 'primary').length === 1 &&
          view.filter((n) => n.reported_state === 'secondary').length === 2
          ? view
          : null
      },
      { timeoutMs: 120_000, what: 'the rebuilt cluster settled: one primary, two secondaries' },
    )
    expect(settled.find((n) => n.role === 'primary')?.name).toBe('node1')
    expect(await write("select count(*) from bk where phase = 'before-loss'")).toBe('10')
    expect(await write("select count(*) from bk where phase = 'after-target'")).toBe('0')
    expect(await write("select count(*) from bk where phase = 'after-power-off'")).toBe('10')

    // The new timeline archives into the same stanza: setup, a backup and check on the rebuilt cluster.
    const setup = await backup('--setup')
    expect(setup.code, setup.stdout + setup.stderr).toBe(0)
    expect(await writeRows('rebuilt', 800, 3)).toHaveLength(3)
    const after = await backup('--check')
    expect(after.code, after.stdout + after.stderr).toBe(0)
  })
})
