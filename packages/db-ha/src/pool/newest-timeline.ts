// Two servers can both say read-write: an old primary cut off from its standbys keeps accepting
// connections (its commits hang waiting for them) while the node promoted after it already runs
// on a newer timeline. The newer timeline is the one the cluster continues from: writes to the
// older one are discarded when it is rewound to follow. So when several hosts qualify for
// read-write or primary, discovery takes the newest timeline, and among equals a host not stuck.
import type pg from 'pg'
import type { HostSpec, TargetSessionAttrs } from '../settings/connection-settings.js'

/** Targets served by the one primary: only their discovery compares timelines. */
export function comparesTimelines(target: TargetSessionAttrs): boolean {
  return target === 'read-write' || target === 'primary'
}

// The timeline of the WAL file being written (its name's first 8 hex digits). Not
// pg_control_checkpoint().timeline_id: that lags until the first checkpoint after a promotion.
// Fails on a standby (pg_current_wal_lsn during recovery), so ask read-write hosts only.
const TIMELINE_SQL = "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int as timeline"

/** The server's current timeline, or null when it cannot tell (then it ranks last). */
export async function currentTimeline(client: pg.Client): Promise<number | null> {
  try {
    const { rows } = await client.query<{ timeline: number }>(TIMELINE_SQL)
    return rows[0]?.timeline ?? null
  } catch {
    return null
  }
}

export interface QualifiedHost {
  host: HostSpec
  /** null: not asked, or it could not tell. */
  timeline: number | null
  /** Its statements timed out or its commits could not be replicated since it last matched. */
  stuck: boolean
}

/**
 * The host to use among those that qualified: newest timeline first (unknown last), then hosts not
 * stuck, then the order given (the candidate order: remembered host, list order, suspects last).
 */
export function preferNewestTimeline<T extends QualifiedHost>(qualified: readonly T[]): T | undefined {
  const rank = (q: T) => q.timeline ?? -1
  // Array.prototype.sort is stable: equal hosts keep the order given.
  return [...qualified].sort((a, b) => rank(b) - rank(a) || Number(a.stuck) - Number(b.stuck))[0]
}
