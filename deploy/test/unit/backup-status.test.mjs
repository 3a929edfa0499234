// What status.mjs and the exporter say about backups: the last backup and its age, and an
// archive_command that fails now (its last failure newer than its last success) as a problem.
import { describe, expect, it } from 'vitest'
import { archiveGap, assessBackups, backupStatusText, walSegmentEnd } from '../../scripts/lib/backup-status.mjs'
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
  waiting_segments: 0,
  waiting_bytes: 0,
  lag_seconds: 0,
}
const LAG_MAX = 300
const QUEUE_MAX = 1024 ** 3

describe('assessBackups', () => {
  it('reports the newest backup and its age; old failures that archiving got past are no problem', () => {
    const status = assessBackups({ stanza: 'default', info, archiver, lagMaxSeconds: LAG_MAX, queueMaxBytes: QUEUE_MAX, now: NOW })
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
    const status = assessBackups({
      stanza: 'default',
      info,
      archiver: { ...archiver, last_failed_at: NOW - 5, failed_count: 9 },
      lagMaxSeconds: LAG_MAX,
      queueMaxBytes: QUEUE_MAX,
      now: NOW,
    })
    expect(status.archiver?.failing).toBe(true)
    expect(status.problems).toEqual([
      'archive_command failing on node2: 9 failures, last for 000000030000000000000020; WAL piles up in pg_wal until archive-push-queue-max',
    ])
    expect(backupStatusText(status)).toMatch(/9 failed \(FAILING now\)\n {2}backup problems: archive_command failing on node2/)
  })

  it('no backup yet, a stanza in error, an unreachable repository', () => {
    expect(
      assessBackups({
        stanza: 'default',
        info: { status: { code: 2, message: 'no valid backups' }, backup: [] },
        archiver: null,
        lagMaxSeconds: LAG_MAX,
        queueMaxBytes: QUEUE_MAX,
        now: NOW,
      }).problems,
    ).toEqual(['no backup yet'])
    expect(
      assessBackups({
        stanza: 'default',
        info: { status: { code: 99, message: 'other' }, backup: [] },
        archiver: null,
        lagMaxSeconds: LAG_MAX,
        queueMaxBytes: QUEUE_MAX,
        now: NOW,
      }).problems,
    ).toEqual(['stanza default: other', 'no backup yet'])
    const gone = assessBackups({ stanza: 'default', info: undefined, archiver, lagMaxSeconds: LAG_MAX, queueMaxBytes: QUEUE_MAX, now: NOW })
    expect(gone.problems).toEqual(['the repository did not answer'])
    expect(gone.last_backup).toBeNull()
  })
})

describe('archive lag', () => {
  const waiting = { ...archiver, waiting_segments: 3, waiting_bytes: 3 * 16 * 1024 * 1024 }

  it('segments waiting within the bound are shown, not a problem', () => {
    const status = assessBackups({
      stanza: 'default',
      info,
      archiver: { ...waiting, lag_seconds: 40 },
      lagMaxSeconds: LAG_MAX,
      queueMaxBytes: QUEUE_MAX,
      now: NOW,
    })
    expect(status.archiver?.behind).toBe(false)
    expect(status.problems).toEqual([])
    expect(backupStatusText(status)).toMatch(/3 failed, 3 segments \(48 MB\) waiting, the oldest for 40 s\n$/)
  })

  it('the oldest segment waiting longer than the bound is a problem naming the node, the lag and the bound', () => {
    const status = assessBackups({
      stanza: 'default',
      info,
      archiver: { ...waiting, lag_seconds: 420 },
      lagMaxSeconds: LAG_MAX,
      queueMaxBytes: QUEUE_MAX,
      now: NOW,
    })
    expect(status.archiver?.behind).toBe(true)
    expect(status.problems).toEqual([
      'archiving on node2 is 7 min behind (bound 5 min, backup_archive_lag_max_seconds): 3 segments (48 MB) waiting, the oldest for 7 min; a restore cannot reach the writes in them yet',
    ])
  })
})

describe('archive-push-queue-max', () => {
  it('reached: pgBackRest drops segments from here on, a problem before the gap shows in the archive', () => {
    const full = {
      ...archiver,
      failed_count: 9,
      last_failed_at: NOW - 5,
      waiting_segments: 4,
      waiting_bytes: 64 * 1024 * 1024,
      lag_seconds: 90,
    }
    const status = assessBackups({
      stanza: 'default',
      info,
      archiver: full,
      lagMaxSeconds: LAG_MAX,
      queueMaxBytes: 64 * 1024 * 1024,
      now: NOW,
    })
    expect(status.problems).toContain(
      'node2 has 4 segments (64 MB) waiting, the oldest for 90 s, at archive-push-queue-max (64 MB): pgBackRest drops the oldest segments from here on, a gap in the archive no restore crosses',
    )
    const below = { ...full, waiting_segments: 3, waiting_bytes: 48 * 1024 * 1024 }
    expect(
      assessBackups({
        stanza: 'default',
        info,
        archiver: below,
        lagMaxSeconds: LAG_MAX,
        queueMaxBytes: 64 * 1024 * 1024,
        now: NOW,
      }).problems.join(),
    ).not.toMatch(/archive-push-queue-max \(/)
  })
})

describe('a gap in the archive', () => {
  /** @param {string} wal */
  const file = (wal, partial = false) =>
    `0000000${wal.slice(7, 8)}${wal.slice(8, 16)}/${wal}${partial ? '.partial' : ''}-${'ab'.repeat(20)}.lz4`
  // Timeline 1 up to 0/7000000, its last segment copied as .partial by the new primary, then timeline 2.
  const continuous = [
    '00000002.history',
    file('000000010000000000000005'),
    file('000000010000000000000006'),
    '0000000100000000/000000010000000000000006.00000028.backup',
    file('000000010000000000000007', true),
    file('000000020000000000000007'),
    file('000000020000000000000008'),
  ]

  it('where a segment ends, as a byte position (16 MB segments, 256 per 4 GB of the name)', () => {
    expect(walSegmentEnd('000000010000000000000005')).toBe(6 * 16 * 1024 * 1024)
    expect(walSegmentEnd('0000000300000001000000FF')).toBe(2 * 2 ** 32)
  })

  it('none across a failover: each position has a segment of some timeline', () => {
    expect(archiveGap(continuous, '000000010000000000000005')).toBeNull()
  })

  it('missing positions after the last backup began: where restores stop, and where the archive resumes', () => {
    const dropped = [...continuous, file('00000002000000000000000C'), file('00000002000000000000000D')]
    expect(archiveGap(dropped, '000000010000000000000005')).toEqual({ segments: 3, from_lsn: '0/9000000', to_lsn: '0/C000000' })
    // Across a 4 GB boundary of the WAL name.
    const wide = [file('0000000200000000000000FE'), file('000000020000000100000001')]
    expect(archiveGap(wide, '0000000200000000000000FE')).toEqual({ segments: 2, from_lsn: '0/FF000000', to_lsn: '1/1000000' })
  })

  it('none once the last backup began after it', () => {
    const dropped = [...continuous, file('00000002000000000000000C'), file('00000002000000000000000D')]
    expect(archiveGap(dropped, '00000002000000000000000C')).toBeNull()
  })

  it('is a problem saying what a restore cannot reach and what ends it', () => {
    const gap = { segments: 3, from_lsn: '0/9000000', to_lsn: '0/C000000' }
    const status = assessBackups({ stanza: 'default', info, archiver, gap, lagMaxSeconds: LAG_MAX, queueMaxBytes: QUEUE_MAX, now: NOW })
    expect(status.archive_gap).toEqual(gap)
    expect(status.problems).toEqual([
      'the archive misses 3 WAL segments since the last backup began (0/9000000 to 0/C000000: dropped at archive-push-queue-max, or never archived by a primary that failed): no restore reaches past 0/9000000 until a backup is taken after 0/C000000 (backup.mjs)',
    ])
  })
})

describe('backup metrics', () => {
  it('the last backup time, the count, and the current primary only for archiving', async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
    metrics.updateBackup(
      assessBackups({
        stanza: 'default',
        info,
        archiver: { ...archiver, node: 'node1' },
        lagMaxSeconds: LAG_MAX,
        queueMaxBytes: QUEUE_MAX,
        now: NOW,
      }),
    )
    metrics.updateBackup(
      assessBackups({
        stanza: 'default',
        info,
        archiver: { ...archiver, last_failed_at: NOW - 1 },
        lagMaxSeconds: LAG_MAX,
        queueMaxBytes: QUEUE_MAX,
        now: NOW,
      }),
    )
    const text = await metrics.registry.metrics()
    expect(text).toMatch(new RegExp(`^pgha_backup_last_completion_timestamp_seconds\\{formation="default"\\} ${NOW - 3_600}$`, 'm'))
    expect(text).toMatch(/^pgha_backup_count\{formation="default"\} 2$/m)
    expect(text).toMatch(/^pgha_archive_failed_count\{node="node2",formation="default"\} 3$/m)
    expect(text).toMatch(/^pgha_archive_failing\{node="node2",formation="default"\} 1$/m)
    // node1 was the primary before: its figures are gone, not left as a second current value.
    expect(text).not.toMatch(/node="node1"/)
  })

  it("the archive lag and what waits on the primary, and the archive's gap", async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
    const waiting = { ...archiver, waiting_segments: 2, waiting_bytes: 33_554_432, lag_seconds: 75.5 }
    const gap = { segments: 4, from_lsn: '0/5000000', to_lsn: '0/9000000' }
    metrics.updateBackup(
      assessBackups({ stanza: 'default', info, archiver: waiting, gap, lagMaxSeconds: LAG_MAX, queueMaxBytes: QUEUE_MAX, now: NOW }),
    )
    let text = await metrics.registry.metrics()
    expect(text).toMatch(/^pgha_archive_waiting_segments\{node="node2",formation="default"\} 2$/m)
    expect(text).toMatch(/^pgha_archive_waiting_bytes\{node="node2",formation="default"\} 33554432$/m)
    expect(text).toMatch(/^pgha_archive_lag_seconds\{node="node2",formation="default"\} 75.5$/m)
    expect(text).toMatch(/^pgha_archive_gap_segments\{formation="default"\} 4$/m)
    // A backup after the gap: back to 0.
    metrics.updateBackup(assessBackups({ stanza: 'default', info, archiver, lagMaxSeconds: LAG_MAX, queueMaxBytes: QUEUE_MAX, now: NOW }))
    text = await metrics.registry.metrics()
    expect(text).toMatch(/^pgha_archive_gap_segments\{formation="default"\} 0$/m)
    expect(text).toMatch(/^pgha_archive_lag_seconds\{node="node2",formation="default"\} 0$/m)
  })
})
