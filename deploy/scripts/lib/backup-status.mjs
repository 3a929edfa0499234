// The backups' side of status.mjs and the exporter: the last backup and its age (pgbackrest info
// on the repository host) and whether the current primary's archive_command works
// (pg_stat_archiver). Reported next to the cluster's verdict, never part of it: a cluster whose
// archiving fails still takes writes, and status.mjs's exit code says whether it does.
import { roleOf } from './cluster-health.mjs'
import { BACKUP_FILES } from './backup-config.mjs'

/**
 * The primary's pg_stat_archiver, times as Unix seconds.
 * @typedef {{archived_count: number, last_archived_wal: string | null, last_archived_at: number | null, failed_count: number, last_failed_wal: string | null, last_failed_at: number | null}} Archiver
 */
/**
 * @typedef {object} BackupStatus
 * @property {string} stanza
 * @property {{label: string, type: string, completed_at: number, age_seconds: number} | null} last_backup
 * @property {number} backups how many the repository keeps
 * @property {(Archiver & {node: string, failing: boolean}) | null} archiver the primary's; failing: its last attempt failed
 * @property {string[]} problems
 */

export const ARCHIVER_SQL = `select archived_count, last_archived_wal, extract(epoch from last_archived_time)::float8 as last_archived_at,
  failed_count, last_failed_wal, extract(epoch from last_failed_time)::float8 as last_failed_at from pg_stat_archiver`

/**
 * Judges what pgbackrest info and pg_stat_archiver say.
 * @param {{stanza: string, info: {status?: {code: number, message: string}, backup?: Array<{label: string, type: string, timestamp: {stop: number}}>} | undefined, archiver: (Archiver & {node: string}) | null, now: number}} input
 *   now: Unix seconds
 * @returns {BackupStatus}
 */
export function assessBackups({ stanza, info, archiver, now }) {
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
  return {
    stanza,
    last_backup: last
      ? { label: last.label, type: last.type, completed_at: last.timestamp.stop, age_seconds: Math.max(0, now - last.timestamp.stop) }
      : null,
    backups: backups.length,
    archiver: archiver ? { ...archiver, failing } : null,
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
  const info = out.exitCode === 0 ? JSON.parse(out.stdout)?.[0] : undefined
  const primaryName = nodes.find((n) => roleOf(n) === 'primary')?.name
  const primary = inventory.nodes.find((n) => n.nodeName === primaryName)
  const [row] = primary ? await runtime.sqlJson(primary, ARCHIVER_SQL).catch(() => []) : []
  return assessBackups({
    stanza: backup.stanza,
    info,
    archiver: row && primary ? { ...row, node: primary.nodeName } : null,
    now: Date.now() / 1000,
  })
}

/** One line for status.mjs. @param {BackupStatus} status */
export function backupStatusText(status) {
  const last = status.last_backup
  const age = last ? `${last.label} (${last.type}), ${ageText(last.age_seconds)} ago` : 'none'
  const archiving = status.archiver
    ? `${status.archiver.archived_count} WAL archived by ${status.archiver.node}, ${status.archiver.failed_count} failed${status.archiver.failing ? ' (FAILING now)' : ''}`
    : 'unknown (no primary answered)'
  return `backup: stanza ${status.stanza}; last backup ${age}; archiving: ${archiving}${status.problems.length ? `\n  backup problems: ${status.problems.join('; ')}` : ''}\n`
}

/** @param {number} seconds */
function ageText(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}
