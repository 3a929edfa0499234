// The backups' side of status.mjs and the exporter: the last backup and its age (pgbackrest info
// on the repository host), whether the current primary's archive_command works and how far it is
// behind (pg_stat_archiver, and the segments waiting in pg_wal/archive_status), and segments
// missing from the repository's archive since the last backup began, which no restore crosses.
// Reported next to the cluster's verdict, never part of it: a cluster whose archiving fails still
// takes writes, and status.mjs's exit code says whether it does.
import { roleOf } from './cluster-health.mjs'
import { BACKUP_FILES } from './backup-config.mjs'

/**
 * The primary's pg_stat_archiver, times as Unix seconds, and the segments still waiting to be
 * archived: how many, their size, and how long the oldest has waited (the archive's lag).
 * @typedef {{archived_count: number, last_archived_wal: string | null, last_archived_at: number | null, failed_count: number,
 *   last_failed_wal: string | null, last_failed_at: number | null, waiting_segments: number, waiting_bytes: number, lag_seconds: number}} Archiver
 */
/**
 * Segments missing from the archive between the last backup's first segment and the newest one
 * archived (pgBackRest dropped them at archive-push-queue-max, or a primary failed before
 * archiving them: a promoted standby archives only from its own timeline's start on). `from_lsn`:
 * the first WAL position no restore can reach; `to_lsn`: where the archive holds WAL again.
 * @typedef {{segments: number, from_lsn: string, to_lsn: string}} ArchiveGap
 */
/**
 * @typedef {object} BackupStatus
 * @property {string} stanza
 * @property {{label: string, type: string, completed_at: number, age_seconds: number} | null} last_backup
 * @property {number} backups how many the repository keeps
 * @property {(Archiver & {node: string, failing: boolean, behind: boolean}) | null} archiver the primary's; failing: its last
 *   attempt failed; behind: its oldest waiting segment is older than the bound
 * @property {ArchiveGap | null} archive_gap
 * @property {string[]} problems
 */

/**
 * The part of `pgbackrest info --output=json` (one stanza) read here; any of it may be missing.
 * @typedef {{status?: {code: number, message: string}, archive?: Array<{id: string}>,
 *   backup?: Array<{label: string, type: string, timestamp: {stop: number}, archive?: {start: string, stop: string}}>}} PgbackrestInfoRead
 */

export const ARCHIVER_SQL = `select archived_count, last_archived_wal, extract(epoch from last_archived_time)::float8 as last_archived_at,
  failed_count, last_failed_wal, extract(epoch from last_failed_time)::float8 as last_failed_at, q.*
from pg_stat_archiver, (
  select count(*)::int as waiting_segments, coalesce(sum(w.size), 0)::float8 as waiting_bytes,
    coalesce(extract(epoch from now() - min(s.modification)), 0)::float8 as lag_seconds
  from pg_ls_archive_statusdir() s left join pg_ls_waldir() w on w.name = left(s.name, -6)
  where s.name like '%.ready') q`

/** A WAL segment in the archive (`.partial`: the copy a promoted standby makes of the old timeline's last one). */
const SEGMENT_RE = /(?:^|\/)[0-9A-F]{8}([0-9A-F]{8})([0-9A-F]{8})(?:\.partial)?-[0-9a-f]{40}/
/** The kit's clusters keep initdb's 16 MB segments: 256 per 4 GB "log" of the WAL name. */
const SEGMENT_BYTES = 16 * 1024 * 1024
const SEGMENTS_PER_LOG = 2 ** 32 / SEGMENT_BYTES

/** A segment's place in the WAL, whatever its timeline. @param {string} log @param {string} seg */
const position = (log, seg) => parseInt(log, 16) * SEGMENTS_PER_LOG + parseInt(seg, 16)
/** Where a WAL segment (its file name) ends, as a byte position in the WAL. @param {string} wal */
export const walSegmentEnd = (wal) => (position(wal.slice(8, 16), wal.slice(16, 24)) + 1) * SEGMENT_BYTES
/** The LSN a segment position starts at. @param {number} pos */
const lsnOf = (pos) =>
  `${Math.floor(pos / SEGMENTS_PER_LOG)
    .toString(16)
    .toUpperCase()}/${((pos % SEGMENTS_PER_LOG) * SEGMENT_BYTES).toString(16).toUpperCase()}`

/**
 * The WAL positions missing from the archive from `since` (the last backup's first segment, a
 * WAL name) to the newest archived one: each position needs a segment of some timeline, a new
 * timeline starting where the old one's `.partial` copy ends. A missing one ends every restore
 * from that backup there, whatever the target.
 * @param {string[]} files the archive's files (pgbackrest repo-ls --recurse), any path prefix
 * @param {string} since
 * @returns {ArchiveGap | null}
 */
export function archiveGap(files, since) {
  const have = new Set()
  for (const file of files) {
    const m = SEGMENT_RE.exec(file)
    if (m) have.add(position(String(m[1]), String(m[2])))
  }
  const from = position(since.slice(8, 16), since.slice(16, 24))
  const newest = Math.max(-1, ...have)
  let first = -1
  let last = -1
  let count = 0
  for (let pos = from; pos < newest; pos++) {
    if (have.has(pos)) continue
    if (first < 0) first = pos
    last = pos
    count++
  }
  // last + 1 is archived: last is the newest missing position below the newest archived one.
  return count === 0 ? null : { segments: count, from_lsn: lsnOf(first), to_lsn: lsnOf(last + 1) }
}

/**
 * Judges what pgbackrest info and pg_stat_archiver say.
 * @param {{stanza: string, info: PgbackrestInfoRead | undefined, archiver: (Archiver & {node: string}) | null,
 *   gap?: ArchiveGap | null, lagMaxSeconds: number, queueMaxBytes: number, now: number}} input
 *   now: Unix seconds; lagMaxSeconds: backup_archive_lag_max_seconds; queueMaxBytes: archive-push-queue-max
 * @returns {BackupStatus}
 */
export function assessBackups({ stanza, info, archiver, gap = null, lagMaxSeconds, queueMaxBytes, now }) {
  /** @type {string[]} */
  const problems = []
  const backups = info?.backup ?? []
  const last = backups.at(-1)
  if (!info) problems.push('the repository did not answer')
  else if (info.status && ![0, 2].includes(info.status.code)) problems.push(`stanza ${stanza}: ${info.status.message}`)
  if (info && !last) problems.push('no backup yet')
  // Failing now: the last failure is newer than the last success.
  const failing = !!archiver?.last_failed_at && (archiver.last_archived_at ?? 0) < archiver.last_failed_at
  if (archiver && failing) {
    problems.push(
      `archive_command failing on ${archiver.node}: ${archiver.failed_count} failures, last for ${archiver.last_failed_wal}; WAL piles up in pg_wal until archive-push-queue-max`,
    )
  }
  const behind = !!archiver && archiver.waiting_segments > 0 && archiver.lag_seconds > lagMaxSeconds
  if (archiver && behind) {
    problems.push(
      `archiving on ${archiver.node} is ${durationText(archiver.lag_seconds)} behind (bound ${durationText(lagMaxSeconds)}, backup_archive_lag_max_seconds): ${waitingText(archiver)}; a restore cannot reach the writes in them yet`,
    )
  }
  // One more segment and pgBackRest drops the oldest: the archive gets a gap.
  if (archiver && archiver.waiting_segments > 0 && archiver.waiting_bytes + SEGMENT_BYTES > queueMaxBytes) {
    problems.push(
      `${archiver.node} has ${waitingText(archiver)}, at archive-push-queue-max (${mbText(queueMaxBytes)}): pgBackRest drops the oldest segments from here on, a gap in the archive no restore crosses`,
    )
  }
  if (gap) problems.push(gapText(gap))
  return {
    stanza,
    last_backup: last
      ? { label: last.label, type: last.type, completed_at: last.timestamp.stop, age_seconds: Math.max(0, now - last.timestamp.stop) }
      : null,
    backups: backups.length,
    archiver: archiver ? { ...archiver, failing, behind } : null,
    archive_gap: gap,
    problems,
  }
}

/**
 * Reads it from the cluster: pgbackrest info on the repository host, pg_stat_archiver on the primary.
 * @param {{inventory: import('./inventory.mjs').Inventory, runtime: import('./runtimes/runtime.mjs').Runtime}} ctx
 * @param {Array<Pick<import('./runtimes/pg-autoctl-core.mjs').MonitorNode, 'name' | 'reported_state' | 'assigned_state'>>} nodes the monitor's view
 * @returns {Promise<BackupStatus | null>} null without backup settings
 */
export async function readBackupStatus({ inventory, runtime }, nodes) {
  const backup = inventory.backup
  if (!backup) return null
  const out = await runtime.pg(
    backup.repoHost,
    ['pgbackrest', `--config=${BACKUP_FILES.repoConf}`, `--stanza=${backup.stanza}`, '--output=json', '--io-timeout=3', 'info'],
    { allowFailure: true },
  )
  /** @type {PgbackrestInfoRead | undefined} */
  const info = out.exitCode === 0 ? JSON.parse(out.stdout)?.[0] : undefined
  const primaryName = nodes.find((n) => roleOf(n) === 'primary')?.name
  const primary = inventory.nodes.find((n) => n.nodeName === primaryName)
  const [row] = primary ? await runtime.sqlJson(primary, ARCHIVER_SQL).catch(() => []) : []
  const gap = info ? await readArchiveGap({ inventory, runtime }, info) : null
  return assessBackups({
    stanza: backup.stanza,
    info,
    archiver: row && primary ? { ...row, node: primary.nodeName } : null,
    gap,
    lagMaxSeconds: backup.archiveLagMaxSeconds,
    queueMaxBytes: backup.archivePushQueueMaxBytes,
    now: Date.now() / 1000,
  })
}

/**
 * The archive's gap since the last backup began, from the repository's own listing.
 * @param {{inventory: import('./inventory.mjs').Inventory, runtime: import('./runtimes/runtime.mjs').Runtime}} ctx
 * @param {PgbackrestInfoRead} info
 * @returns {Promise<ArchiveGap | null>} null also without a backup, or when the listing fails
 */
export async function readArchiveGap({ inventory, runtime }, info) {
  const since = info.backup?.at(-1)?.archive?.start
  const archiveId = info.archive?.at(-1)?.id
  const backup = inventory.backup
  if (!backup || !since || !archiveId) return null
  const out = await runtime.pg(
    backup.repoHost,
    [
      'pgbackrest',
      `--config=${BACKUP_FILES.repoConf}`,
      `--stanza=${backup.stanza}`,
      '--io-timeout=3',
      '--recurse',
      'repo-ls',
      `archive/${backup.stanza}/${archiveId}`,
    ],
    { allowFailure: true },
  )
  return out.exitCode === 0 ? archiveGap(out.stdout.split('\n'), since) : null
}

/** @param {ArchiveGap} gap */
export function gapText(gap) {
  return `the archive misses ${gap.segments} WAL segment${gap.segments === 1 ? '' : 's'} since the last backup began (${gap.from_lsn} to ${gap.to_lsn}: dropped at archive-push-queue-max, or never archived by a primary that failed): no restore reaches past ${gap.from_lsn} until a backup is taken after ${gap.to_lsn} (backup.mjs)`
}

/** One line for status.mjs. @param {BackupStatus} status */
export function backupStatusText(status) {
  const last = status.last_backup
  const age = last ? `${last.label} (${last.type}), ${durationText(last.age_seconds)} ago` : 'none'
  const a = status.archiver
  const archiving = a
    ? `${a.archived_count} WAL archived by ${a.node}, ${a.failed_count} failed${a.failing ? ' (FAILING now)' : ''}${a.waiting_segments > 0 ? `, ${waitingText(a)}` : ''}`
    : 'unknown (no primary answered)'
  return `backup: stanza ${status.stanza}; last backup ${age}; archiving: ${archiving}${status.problems.length ? `\n  backup problems: ${status.problems.join('; ')}` : ''}\n`
}

/** @param {number} seconds */
function durationText(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

/** @param {Archiver} a */
function waitingText(a) {
  return `${a.waiting_segments} segment${a.waiting_segments === 1 ? '' : 's'} (${mbText(a.waiting_bytes)}) waiting, the oldest for ${durationText(a.lag_seconds)}`
}

/** @param {number} bytes */
function mbText(bytes) {
  const mb = bytes / 1024 / 1024
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`
}
