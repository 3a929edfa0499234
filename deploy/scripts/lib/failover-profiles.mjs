// Failover profiles: named sets of monitor GUCs and keeper settings, chosen in the inventory
// (`failover_profile`). Invariant: the monitor waits longer before promoting a standby
// (primary_demote_timeout) than a partitioned primary waits before demoting itself
// (network_partition_timeout), so two primaries can never accept writes at once.

export const FAILOVER_PROFILES = {
  // pg_auto_failover 2.0 stock values.
  default: {
    monitor: {
      'pgautofailover.health_check_period': '5000',
      'pgautofailover.health_check_timeout': '5000',
      'pgautofailover.health_check_max_retries': '2',
      'pgautofailover.health_check_retry_delay': '2000',
      'pgautofailover.node_considered_unhealthy_timeout': '20000',
      'pgautofailover.primary_demote_timeout': '30000',
    },
    keeper: {
      'timeout.network_partition_timeout': '20',
    },
  },
  fast: {
    monitor: {
      'pgautofailover.health_check_period': '1000',
      'pgautofailover.health_check_timeout': '1000',
      'pgautofailover.health_check_max_retries': '1',
      'pgautofailover.health_check_retry_delay': '500',
      'pgautofailover.node_considered_unhealthy_timeout': '4000',
      'pgautofailover.primary_demote_timeout': '10000',
    },
    keeper: {
      'timeout.network_partition_timeout': '5',
    },
  },
}

export const PROFILE_NAMES = /** @type {[string, ...string[]]} */ (Object.keys(FAILOVER_PROFILES))

/** Fails loudly if a profile could let a standby be promoted before the old primary demotes. */
export function assertNoSplitBrain(name) {
  const profile = FAILOVER_PROFILES[name]
  const demoteMs = Number(profile.monitor['pgautofailover.primary_demote_timeout'])
  const partitionMs = Number(profile.keeper['timeout.network_partition_timeout']) * 1000
  if (!(demoteMs > partitionMs)) {
    throw new Error(`failover profile ${name}: primary_demote_timeout (${demoteMs} ms) must exceed network_partition_timeout (${partitionMs} ms)`)
  }
}
