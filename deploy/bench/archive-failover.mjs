#!/usr/bin/env node
// archive-failover benchmark: WAL archiving across a failover, on a lab of its own with the
// repository host on VM3, timed from the repository's own files (what a restore can read).
//
// Steps: 1. lab up + bring-up, backup.mjs --setup, a full backup
//        2. a writer inserts through the DSN (one psql per write, as a reconnecting client); just
//           before the cut, the primary's WAL not yet archived (bytes, seconds since its last
//           archived segment)
//        3. power-off of the primary's VM; timed from the cut: the first write acknowledged, the
//           new timeline's history file in the repository, the old timeline's last segment as the
//           new primary's `.partial` copy (from then on the archive reaches the failover point),
//           and the new timeline's first full segment (archive_timeout closes it on a quiet primary)
//        4. backup.mjs --list: the recoverable window after the failover; restore.mjs --latest into
//           VM3: every write acknowledged before the restore began is in it, or the run fails
//        5. lab down (also on failure)
// Figures go to stdout and bench/results/archive-failover-<timestamp>.json.
// usage: archive-failover.mjs [--profile default|fast]
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeBenchResults } from './bench-results.mjs'
import { findVm } from '../lab/lab-config.mjs'
import { parseOptions } from '../lib/cli-options.mjs'
import { errorMessage } from '../lib/error-message.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { waitFor } from '../lib/wait-for.mjs'
import { ARCHIVER_SQL, walSegmentEnd } from '../scripts/lib/backup-status.mjs'
import { BACKUP_FILES } from '../scripts/lib/backup-config.mjs'
import { loadClusterContext } from '../scripts/lib/cluster-context.mjs'
import { roleOf } from '../scripts/lib/cluster-health.mjs'
import { lsnBytes } from '../scripts/lib/cluster-metrics.mjs'
import { PROFILE_NAMES } from '../scripts/lib/failover-profiles.mjs'
import {
  addBackupHost,
  jsonLines,
  labFault,
  psql,
  startLabCluster,
  stopLabCluster,
  switchover,
  vmOf,
} from '../test/support/lab-cluster.mjs'
import { runScript } from '../test/support/run-script.mjs'

const LAB = { name: 'pgharch', subnet: '10.213.73.0/24' }
const USAGE = `usage: archive-failover.mjs [--profile ${PROFILE_NAMES.join('|')}]`

let args
try {
  args = parseOptions(process.argv.slice(2), { usage: USAGE, options: { profile: { type: 'string' } } }).values
} catch (error) {
  process.stderr.write(`archive-failover: ${errorMessage(error)}\n`)
  process.exit(2)
}
const profile = args.profile ?? 'fast'
if (!PROFILE_NAMES.includes(profile)) {
  process.stderr.write(`archive-failover: --profile: unknown "${profile}" (known: ${PROFILE_NAMES.join(', ')})\n`)
  process.exit(2)
}
ensureRoot('archive-failover')

/** @param {string} line */
const log = (line) => process.stderr.write(`archive-failover: ${line}\n`)
/** To one decimal. @param {number} value */
const round = (value) => Math.round(value * 10) / 10
/** @type {Record<string, unknown>} */
const results = { started_at: new Date().toISOString(), profile }
/** @type {import('../test/support/lab-cluster.mjs').LabCluster | undefined} */
let cluster
let stopWriter = false

try {
  log(`lab up + bring-up (profile ${profile}), backup.mjs --setup, a full backup`)
  cluster = await startLabCluster({ ...LAB, profile })
  const { databaseUrl } = cluster
  await addBackupHost(cluster, 'vm3')
  /** @param {...string} a */
  const backup = (...a) => runScript('scripts/backup.mjs', ['--inventory', String(cluster?.inventory.file), ...a], { timeoutMs: 300_000 })
  for (const a of [['--setup'], ['--type', 'full']]) {
    const out = await backup(...a)
    if (out.code !== 0) throw new Error(`backup.mjs ${a.join(' ')} failed (exit ${out.code}): ${out.stderr}`)
  }
  const ctx = await loadClusterContext(cluster.inventory.file)
  const primaryName = async () => (await ctx.runtime.clusterNodes()).find((n) => roleOf(n) === 'primary')?.name
  // VM3 holds the monitor and the repository: the power-off hits a VM with a data node only.
  if (!['node1', 'node2'].includes(String(await primaryName()))) await switchover(cluster, 'node1')
  const oldName = String(await primaryName())
  const old = ctx.inventory.nodes.find((n) => n.nodeName === oldName)
  if (!old) throw new Error(`no inventory node for the primary ${oldName}`)
  const vm = vmOf(cluster, old.address)
  const archiveDir = `${findVm(cluster.lab, 'vm3').mounts['/var/lib/postgresql']}${BACKUP_FILES.dir.slice('/var/lib/postgresql'.length)}/repo/archive/${ctx.inventory.backup?.stanza}`

  await psql(databaseUrl, 'create table archive_writes(seq bigserial primary key, logical_id bigint not null)')
  /** @type {Array<{id: number, at: number}>} */
  const acked = []
  let nextId = 0
  const writer = (async () => {
    while (!stopWriter) {
      const id = ++nextId
      const out = await psql(databaseUrl, `insert into archive_writes(logical_id) values (${id})`, { timeoutMs: 15_000 })
      if (out.ok) acked.push({ id, at: Date.now() })
      else await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  await waitFor(async () => acked.length >= 50, { timeoutMs: 60_000, what: 'writes before the cut' })

  // What the archive lacks at the cut: the WAL after the last archived segment.
  const [before] = await ctx.runtime.sqlJson(old, `select pg_current_wal_lsn()::text as lsn, a.* from (${ARCHIVER_SQL}) a`)
  const unarchivedBytes = before ? Number(lsnBytes(before.lsn)) - walSegmentEnd(String(before.last_archived_wal)) : null
  const filesBefore = new Set(await archiveFiles(archiveDir))
  const oldTimeline =
    [...filesBefore]
      .filter((f) => /^[0-9A-F]{24}/.test(f))
      .sort()
      .at(-1)
      ?.slice(0, 8) ?? '00000001'
  const cut = Date.now()
  log(`power-off of ${oldName} (${vm}); ${acked.length} writes acknowledged`)
  await labFault(cluster, 'power-off', vm)

  /** @type {{first_write: number | null, history: number | null, partial: number | null, new_segment: number | null}} */
  const at = { first_write: null, history: null, partial: null, new_segment: null }
  await waitFor(
    async () => {
      const now = Date.now()
      if (at.first_write === null) at.first_write = acked.find((w) => w.at > cut)?.at ?? null
      const files = (await archiveFiles(archiveDir)).filter((f) => !filesBefore.has(f))
      const newTimeline = files.find((f) => /^[0-9A-F]{8}\.history$/.test(f))?.slice(0, 8)
      if (at.history === null && newTimeline) at.history = now
      if (at.partial === null && files.some((f) => f.startsWith(oldTimeline) && f.includes('.partial'))) at.partial = now
      if (at.new_segment === null && newTimeline && files.some((f) => f.startsWith(newTimeline) && /^[0-9A-F]{24}-/.test(f)))
        at.new_segment = now
      return Object.values(at).every((t) => t !== null) ? true : null
    },
    { timeoutMs: 240_000, intervalMs: 200, what: 'the new primary to archive the failover point and its first full segment' },
  )
  const since = (/** @type {number | null | undefined} */ t) => (t == null ? null : round((t - cut) / 1000))

  const list = await backup('--list', '--json')
  const window = list.code === 0 ? JSON.parse(list.stdout).window : null
  const restoreFrom = Date.now()
  const ackedBefore = acked.filter((w) => w.at < restoreFrom).map((w) => w.id)
  const restore = await runScript('scripts/restore.mjs', ['--inventory', cluster.inventory.file, '--latest', '--into', 'vm3', '--json'], {
    timeoutMs: 300_000,
  })
  const done = jsonLines(restore.stdout).find((e) => e.step === 'done')?.restore
  if (restore.code !== 0 || !done) throw new Error(`restore.mjs --latest failed (exit ${restore.code}): ${restore.stderr}`)
  const restoreSeconds = round((Date.now() - restoreFrom) / 1000)
  stopWriter = true
  await writer
  const dsn = `host=${done.address} port=${done.port} dbname=app user=app password=${cluster.password} connect_timeout=3`
  const found = await psql(
    dsn,
    `select count(distinct logical_id) || ' ' || count(*) from archive_writes where logical_id = any('{${ackedBefore.join(',')}}'::bigint[])`,
  )
  const [distinct, rows] = found.stdout.split(' ').map(Number)
  if (!found.ok || distinct === undefined || rows === undefined) throw new Error(`counting the restored writes failed: ${found.stderr}`)

  Object.assign(results, {
    old_primary: oldName,
    new_primary: await primaryName(),
    unarchived_at_cut: before
      ? {
          bytes: unarchivedBytes,
          seconds_since_last_archived: round(cut / 1000 - Number(before.last_archived_at)),
        }
      : null,
    seconds_after_cut: {
      first_write: since(at.first_write),
      history_archived: since(at.history),
      failover_point_archived: since(at.partial),
      first_new_timeline_segment_archived: since(at.new_segment),
    },
    recoverable_window_after: window,
    restore_latest: {
      seconds: restoreSeconds,
      acknowledged: ackedBefore.length,
      lost: ackedBefore.length - distinct,
      duplicated: rows - distinct,
    },
  })
  log(JSON.stringify(results))
  if (distinct !== ackedBefore.length || rows !== distinct)
    throw new Error(`the restore lacks ${ackedBefore.length - distinct} acknowledged writes and holds ${rows - distinct} twice`)
} catch (error) {
  stopWriter = true
  log(`failed: ${errorMessage(error)}`)
  process.exitCode = 1
} finally {
  await stopLabCluster(cluster, LAB)
}

results.finished_at = new Date().toISOString()
const file = await writeBenchResults('archive-failover', String(results.started_at), results)
process.stdout.write(`${JSON.stringify(results, null, 2)}\nwritten: ${path.relative(process.cwd(), file)}\n`)

/** Every file under the stanza's archive directory, by name. @param {string} dir @returns {Promise<string[]>} */
async function archiveFiles(dir) {
  const entries = await fs.readdir(dir, { recursive: true }).catch(() => [])
  return entries.map((e) => path.basename(String(e)))
}
