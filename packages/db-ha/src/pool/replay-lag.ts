// How far a standby is behind, for read pools with a staleness bound. Measured on the standby
// itself (received vs replayed WAL, and the age of the last replayed commit while replay is
// behind), so no connection to the primary is needed.
import type pg from 'pg'

/** A standby further behind than any given bound is skipped. */
export interface ReplayLagLimit {
  bytes?: number
  seconds?: number
}

export interface ReplayLag {
  bytes: number
  seconds: number
  /** Whether a WAL receiver runs: without one the standby falls behind unnoticed. */
  receiving: boolean
}

// pg_stat_wal_receiver shows non-privileged users only its pid: enough to know it runs.
const LAG_SQL = `select
  coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::float8 as bytes,
  case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
       else coalesce(extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()), 0) end::float8 as seconds,
  exists (select 1 from pg_stat_wal_receiver) as receiving`

export async function measureReplayLag(client: pg.Client): Promise<ReplayLag> {
  const { rows } = await client.query<ReplayLag>(LAG_SQL)
  const row = rows[0]
  return { bytes: row?.bytes ?? 0, seconds: row?.seconds ?? 0, receiving: row?.receiving ?? false }
}

/** Why the lag is over the limit, or null when it is within. */
export function lagExceeded(lag: ReplayLag, limit: ReplayLagLimit): string | null {
  if (!lag.receiving) return 'no WAL receiver'
  if (limit.bytes !== undefined && lag.bytes > limit.bytes) return `${lag.bytes} bytes behind (limit ${limit.bytes})`
  if (limit.seconds !== undefined && lag.seconds > limit.seconds) return `${lag.seconds.toFixed(1)} s behind (limit ${limit.seconds})`
  return null
}
