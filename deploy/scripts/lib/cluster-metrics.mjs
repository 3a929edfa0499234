// The cluster as Prometheus metrics, from the monitor's view (what status.mjs prints): who is
// primary, each node's states, health, timeline and WAL position, how far each standby's
// reported position is behind the primary's, and when a standby was last promoted.
import client from 'prom-client'
import { CAN_TAKE_WRITES, assessCluster, roleOf } from './cluster-health.mjs'

/**
 * The fields of the monitor's rows the metrics read.
 * @typedef {Pick<import('./runtimes/pg-autoctl-core.mjs').MonitorNode, 'name' | 'host' | 'port' | 'reported_state' | 'assigned_state' | 'health' | 'pg_running' | 'tli' | 'lsn' | 'seconds_since_report'>} MetricsNode
 */

/** pg_lsn text ("16/B374D848") as a byte position. @param {unknown} lsn @returns {number | undefined} */
export function lsnBytes(lsn) {
  const match = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(String(lsn ?? ''))
  if (!match) return undefined
  return Number.parseInt(/** @type {string} */ (match[1]), 16) * 2 ** 32 + Number.parseInt(/** @type {string} */ (match[2]), 16)
}

/**
 * A registry of the cluster's metrics and the function that refreshes them.
 * @param {{formation: string, expectedNodes: number}} cluster
 */
export function createClusterMetrics({ formation, expectedNodes }) {
  const registry = new client.Registry()
  registry.setDefaultLabels({ formation })
  /** @param {string} name @param {string} help @param {string[]} [labelNames] */
  const gauge = (name, help, labelNames = []) => new client.Gauge({ name, help, labelNames, registers: [registry] })
  const metrics = {
    monitorUp: gauge('pgha_monitor_up', '1 when the last poll of the monitor succeeded'),
    healthy: gauge('pgha_cluster_healthy', '1: one primary and every other node a healthy secondary (status.mjs exit 0)'),
    verdict: gauge('pgha_cluster_verdict', '1 for the current verdict of status.mjs (healthy, degraded, unhealthy)', ['verdict']),
    primaries: gauge('pgha_cluster_writable_nodes', 'nodes the monitor reports in a writable state (more than 1 must never happen)'),
    isPrimary: gauge('pgha_node_is_primary', '1 for the node the monitor reports as the primary', ['node']),
    info: gauge('pgha_node_state', '1 per node, labelled with its reported and assigned states', [
      'node',
      'host',
      'port',
      'reported_state',
      'assigned_state',
    ]),
    nodeHealthy: gauge('pgha_node_healthy', "the monitor's health check of the node: 1 good, 0 bad or unknown", ['node']),
    pgRunning: gauge('pgha_node_postgres_running', "1 when the node's keeper reports Postgres running", ['node']),
    timeline: gauge('pgha_node_timeline', "the node's reported timeline", ['node']),
    lsn: gauge('pgha_node_reported_lsn_bytes', "the node's last reported WAL position, in bytes", ['node']),
    lag: gauge(
      'pgha_node_replication_lag_bytes',
      "the primary's reported WAL position minus the node's (reports arrive about every second)",
      ['node'],
    ),
    sinceReport: gauge('pgha_node_seconds_since_report', "seconds since the node's keeper last reported to the monitor", ['node']),
    lastPromotion: gauge(
      'pgha_last_promotion_timestamp_seconds',
      'when the monitor last took a standby to stop_replication (every failover and switchover does), Unix time',
    ),
    // Backups (lib/backup-status.mjs), with a group "backup" only.
    lastBackup: gauge('pgha_backup_last_completion_timestamp_seconds', 'when the newest backup in the repository completed, Unix time'),
    backups: gauge('pgha_backup_count', 'backups the repository keeps'),
    archiveFailed: gauge('pgha_archive_failed_count', "the primary's pg_stat_archiver.failed_count (since its stats were reset)", ['node']),
    archiveFailing: gauge('pgha_archive_failing', "1 when the primary's last archive_command attempt failed", ['node']),
    archiveWaiting: gauge(
      'pgha_archive_waiting_segments',
      "WAL segments (and history files) waiting in the primary's pg_wal to be archived",
      ['node'],
    ),
    archiveWaitingBytes: gauge('pgha_archive_waiting_bytes', 'their size, in bytes', ['node']),
    archiveLag: gauge(
      'pgha_archive_lag_seconds',
      "how long the primary's oldest segment waiting to be archived has waited (0 when none waits)",
      ['node'],
    ),
    archiveGap: gauge(
      'pgha_archive_gap_segments',
      'WAL segments missing from the archive since the last backup began (dropped at archive-push-queue-max, or never archived by a primary that failed): no restore crosses them',
    ),
    pollErrors: new client.Counter({
      name: 'pgha_exporter_poll_errors_total',
      help: 'polls of the monitor that failed',
      registers: [registry],
    }),
  }

  /**
   * @param {MetricsNode[]} nodes runtime.clusterNodes()
   * @param {{lastPromotion?: number | null}} [extra] lastPromotion: Unix time (s)
   */
  function update(nodes, { lastPromotion } = {}) {
    const { healthy, verdict } = assessCluster(nodes, expectedNodes)
    metrics.monitorUp.set(1)
    metrics.healthy.set(healthy ? 1 : 0)
    for (const v of ['healthy', 'degraded', 'unhealthy']) metrics.verdict.set({ verdict: v }, v === verdict ? 1 : 0)
    metrics.primaries.set(nodes.filter((n) => CAN_TAKE_WRITES.has(n.reported_state)).length)
    // States change: old label sets must not linger as a second "current" state.
    metrics.info.reset()
    const primary = nodes.find((n) => roleOf(n) === 'primary')
    const primaryLsn = lsnBytes(primary?.lsn)
    for (const n of nodes) {
      const node = String(n.name)
      metrics.isPrimary.set({ node }, n === primary ? 1 : 0)
      metrics.info.set(
        {
          node,
          host: String(n.host),
          port: String(n.port),
          reported_state: String(n.reported_state),
          assigned_state: String(n.assigned_state),
        },
        1,
      )
      metrics.nodeHealthy.set({ node }, Number(n.health) === 1 ? 1 : 0)
      metrics.pgRunning.set({ node }, n.pg_running ? 1 : 0)
      metrics.timeline.set({ node }, Number(n.tli) || 0)
      const lsn = lsnBytes(n.lsn)
      if (lsn !== undefined) metrics.lsn.set({ node }, lsn)
      if (lsn !== undefined && primaryLsn !== undefined) metrics.lag.set({ node }, Math.max(0, primaryLsn - lsn))
      metrics.sinceReport.set({ node }, Number(n.seconds_since_report) || 0)
    }
    if (lastPromotion) metrics.lastPromotion.set(lastPromotion)
  }

  /** @param {import('./backup-status.mjs').BackupStatus} status */
  function updateBackup(status) {
    if (status.last_backup) metrics.lastBackup.set(status.last_backup.completed_at)
    metrics.backups.set(status.backups)
    // The primary moves: only the current one's figures are current.
    for (const m of [
      metrics.archiveFailed,
      metrics.archiveFailing,
      metrics.archiveWaiting,
      metrics.archiveWaitingBytes,
      metrics.archiveLag,
    ])
      m.reset()
    const a = status.archiver
    if (a) {
      metrics.archiveFailed.set({ node: a.node }, a.failed_count)
      metrics.archiveFailing.set({ node: a.node }, a.failing ? 1 : 0)
      metrics.archiveWaiting.set({ node: a.node }, a.waiting_segments)
      metrics.archiveWaitingBytes.set({ node: a.node }, a.waiting_bytes)
      metrics.archiveLag.set({ node: a.node }, a.lag_seconds)
    }
    metrics.archiveGap.set(status.archive_gap?.segments ?? 0)
  }

  function failed() {
    metrics.monitorUp.set(0)
    metrics.pollErrors.inc()
  }

  return { registry, update, updateBackup, failed }
}

/** The monitor's last stop_replication goal for the formation, as Unix time (s), or null. @param {string} formation */
export function lastPromotionSql(formation) {
  return `select extract(epoch from max(eventtime))::float8 as at from pgautofailover.event
           where formationid = '${formation.replaceAll("'", "''")}' and goalstate = 'stop_replication'`
}
