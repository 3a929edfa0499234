// What status.mjs and the exporter say about backups: the last backup and its age, and an
// archive_command that fails now (its last failure newer than its last success) as a problem.
import { describe, expect, it } from 'vitest'
import { assessBackups, backupStatusText } from '../../scripts/lib/backup-status.mjs'
import { createClusterMetrics } from '../../scripts/lib/cluster-metrics.mjs'

const NOW = 1_800_000_000
const info = {
  status: { code: 0, message: 'ok' },
  backup: [
    { label: '20261201-010000F', type: 'full', timestamp: { stop: NOW - 90_000 } },
    { label: '20261201-010000F_20261202-010000I', type: 'incr', timestamp: { stop: NOW - 3_600 } },
  ],
}
const archiver = {
  node: 'node2',
  archived_count: 42,
  last_archived_wal: '00000003000000000000002A',
  last_archived_at: NOW - 30,
  failed_count: 3,
  last_failed_wal: '000000030000000000000020',
  last_failed_at: NOW - 600,
}

describe('assessBackups', () => {
  it('reports the newest backup and its age; old failures that archiving got past are no problem', () => {
    const status = assessBackups({ stanza: 'default', info, archiver, now: NOW })
    expect(status.last_backup).toEqual({
      label: '20261201-010000F_20261202-010000I',
      type: 'incr',
      completed_at: NOW - 3_600,
      age_seconds: 3_600,
    })
    expect(status.backups).toBe(2)
    expect(status.archiver).toMatchObject({ node: 'node2', failed_count: 3, failing: false })
    expect(status.problems).toEqual([])
    expect(backupStatusText(status)).toBe(
      'backup: stanza default; last backup 20261201-010000F_20261202-010000I (incr), 60 min ago; archiving: 42 WAL archived by node2, 3 failed\n',
    )
  })

  it('an archive_command failing now is a problem naming the node and the segment', () => {
    const status = assessBackups({ stanza: 'default', info, archiver: { ...archiver, last_failed_at: NOW - 5, failed_count: 9 }, now: NOW })
    expect(status.archiver?.failing).toBe(true)
    expect(status.problems).toEqual([
      'archive_command failing on node2: 9 failures, last for 000000030000000000000020; WAL piles up in pg_wal until archive-push-queue-max',
    ])
    expect(backupStatusText(status)).toMatch(/9 failed \(FAILING now\)\n {2}backup problems: archive_command failing on node2/)
  })

  it('no backup yet, a stanza in error, an unreachable repository', () => {
    expect(
      assessBackups({ stanza: 'default', info: { status: { code: 2, message: 'no valid backups' }, backup: [] }, archiver: null, now: NOW })
        .problems,
    ).toEqual(['no backup yet'])
    expect(
      assessBackups({ stanza: 'default', info: { status: { code: 99, message: 'other' }, backup: [] }, archiver: null, now: NOW }).problems,
    ).toEqual(['stanza default: other', 'no backup yet'])
    const gone = assessBackups({ stanza: 'default', info: undefined, archiver, now: NOW })
    expect(gone.problems).toEqual(['the repository did not answer'])
    expect(gone.last_backup).toBeNull()
  })
})

describe('backup metrics', () => {
  it('the last backup time, the count, and the current primary only for archiving', async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
    metrics.updateBackup(assessBackups({ stanza: 'default', info, archiver: { ...archiver, node: 'node1' }, now: NOW }))
    metrics.updateBackup(assessBackups({ stanza: 'default', info, archiver: { ...archiver, last_failed_at: NOW - 1 }, now: NOW }))
    const text = await metrics.registry.metrics()
    expect(text).toMatch(new RegExp(`^pgha_backup_last_completion_timestamp_seconds\\{formation="default"\\} ${NOW - 3_600}$`, 'm'))
    expect(text).toMatch(/^pgha_backup_count\{formation="default"\} 2$/m)
    expect(text).toMatch(/^pgha_archive_failed_count\{node="node2",formation="default"\} 3$/m)
    expect(text).toMatch(/^pgha_archive_failing\{node="node2",formation="default"\} 1$/m)
    // node1 was the primary before: its figures are gone, not left as a second current value.
    expect(text).not.toMatch(/node="node1"/)
  })
})
