// Failover profiles: named sets of monitor, keeper and Postgres timeouts, chosen in the inventory
// (`failover_profile`, adjusted key by key with `failover_settings`), and the fencing condition
// every one of them must meet: the old primary stops taking writes before a new primary can
// start. The condition is read from pg_auto_failover 2.0's source (the Debian package the kit
// runs; unchanged through 2.2), file by file below; shared/notes/pg-auto-failover-timing.md has
// the lab measurements behind it. All times are in seconds unless a name says otherwise.
//
// When a new primary can take writes, at the earliest (the monitor's side):
//   src/monitor/node_metadata.c IsUnhealthy: the node's last report is older than U
//   (node_considered_unhealthy_timeout) AND the health check marked it bad. The keeper reports
//   every loop (PG_AUTOCTL_KEEPER_SLEEP_TIME = 1 s, src/bin/pg_autoctl/defaults.h), so its last
//   report is at most ~1.5 s old when the cut starts. src/monitor/health_check_worker.c: a node is
//   bad after R+1 attempts that each time out after T, R·D apart (a partition drops packets, so
//   every attempt runs into its timeout). src/monitor/group_state_machine.c: the standby gets
//   wait_primary (read-write) only once the old primary's demote_timeout goal is Dm old
//   (IsDrainTimeExpired), or once the old primary reports demote_timeout itself.
//     promote_min = max(U - 1.5, (R+1)·T + R·D) + Dm
//
// When the old primary stops taking writes, at the latest (its keeper's side):
//   src/bin/pg_autoctl/service_keeper.c: only a node in state primary whose node_active call to
//   the monitor just failed checks for a partition; it refreshes last_secondary_contact whenever
//   a replicator row is in pg_stat_replication, and demotes itself (demote_timeout: Postgres
//   stopped, fast mode) once both the monitor and the standbys are silent for more than N
//   (network_partition_timeout; whole seconds, strict: up to N + 1). With packets dropped, the
//   walsender's row lingers until wal_sender_timeout W (pg_autoctl sets 30 s in
//   primary_standby.c; we set it per profile with ALTER SYSTEM). Each partitioned keeper loop
//   takes L = 1 s of sleep + two connection attempts of C each (PGCONNECT_TIMEOUT 2 s, or less
//   when tcp_user_timeout in the monitor URI is shorter: Linux clamps SYN retries to it).
//     fence_max = W + (N + 1) + L + 1 s to stop Postgres
//   And a trap (in_network_partition requires last_secondary_contact > 0): a keeper that never
//   saw a standby while the monitor was unreachable has last_secondary_contact = 0 and then NEVER
//   demotes itself. So its first failed check after the cut must still see the walsender:
//     first_check_max = max(C, E, 1 s) + C + 1 s   <   W - min(S, W/2) = walsender_linger_min
//   where E bounds a monitor query caught by the cut (keepalives and tcp_user_timeout in the
//   monitor URI; without them, minutes: 2.0 sets none) and S is the standbys'
//   wal_receiver_status_interval (the walsender itself asks for a reply after W/2 of silence).
//
// Safe: promote_min - fence_max >= REQUIRED_MARGIN_S, and the trap above avoided.
// Not flapping: one lost health check (R >= 1) or a 1 s stall of a keeper or standby
// (U >= 3 s, W >= S + 2 s) never fails over.

/** Constants of pg_auto_failover 2.0 the condition uses (see above). */
export const PG_AUTOCTL_CONSTANTS = {
  keeperSleepS: 1,
  keeperConnectTimeoutS: 2,
  reportAgeS: 1.5,
  stopPostgresS: 1,
  localWorkS: 1,
}
export const REQUIRED_MARGIN_S = 2

const MONITOR_KEEPALIVES = { keepalives: '1', keepalives_idle: '1', keepalives_interval: '1', keepalives_count: '1' }

export const FAILOVER_PROFILES = {
  // pg_auto_failover 2.0's stock monitor and keeper timeouts. Stock is not fencing-safe (an
  // isolated primary keeps its walsenders for 30 s and the keeper's monitor connections have no
  // keepalives), so this profile adds what the condition needs and changes nothing else.
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
    postgres: {
      wal_sender_timeout: '15000',
      wal_receiver_status_interval: '1',
    },
    monitorConnection: { ...MONITOR_KEEPALIVES, tcp_user_timeout: '3000' },
  },
  // The fastest failover that still meets the condition with its margin (see the README's
  // figures): fence_max 12 s, promote_min 14.5 s.
  fast: {
    monitor: {
      'pgautofailover.health_check_period': '1000',
      'pgautofailover.health_check_timeout': '1000',
      'pgautofailover.health_check_max_retries': '1',
      'pgautofailover.health_check_retry_delay': '500',
      'pgautofailover.node_considered_unhealthy_timeout': '4000',
      'pgautofailover.primary_demote_timeout': '12000',
    },
    keeper: {
      'timeout.network_partition_timeout': '1',
    },
    postgres: {
      wal_sender_timeout: '6000',
      wal_receiver_status_interval: '1',
    },
    monitorConnection: { ...MONITOR_KEEPALIVES, tcp_user_timeout: '1000' },
  },
}

/** A resolved profile: its monitor GUCs, keeper settings, Postgres settings and monitor URI options. @typedef {typeof FAILOVER_PROFILES.default} FailoverProfile */
/** @typedef {keyof FailoverProfile} ProfileSection */

export const PROFILE_NAMES = /** @type {[string, ...string[]]} */ (Object.keys(FAILOVER_PROFILES))
const SECTIONS = /** @type {const} */ (['monitor', 'keeper', 'postgres', 'monitorConnection'])

/** Every key `failover_settings` may set, with its section. */
export const SETTING_KEYS = new Map(
  SECTIONS.flatMap((section) => Object.keys(FAILOVER_PROFILES.default[section]).map((key) => [key, section])),
)

/**
 * A named profile with an inventory's `failover_settings` on top (values as the setting's own
 * unit: ms for the monitor GUCs, wal_sender_timeout and tcp_user_timeout; seconds for the rest).
 * @param {string} name @param {Record<string, string|number>} [settings]
 */
export function resolveProfile(name, settings = {}) {
  const base = Object.hasOwn(FAILOVER_PROFILES, name) ? FAILOVER_PROFILES[/** @type {keyof typeof FAILOVER_PROFILES} */ (name)] : undefined
  if (!base) throw new ProfileError(`unknown failover profile "${name}": use one of ${PROFILE_NAMES.join(', ')}`, 'failover_profile')
  /** @type {Record<ProfileSection, Record<string, string>>} */
  const profile = {
    monitor: { ...base.monitor },
    keeper: { ...base.keeper },
    postgres: { ...base.postgres },
    monitorConnection: { ...base.monitorConnection },
  }
  for (const [key, value] of Object.entries(settings)) {
    const section = SETTING_KEYS.get(key)
    if (!section)
      throw new ProfileError(`unknown setting "${key}": use one of ${[...SETTING_KEYS.keys()].join(', ')}`, `failover_settings.${key}`)
    const text = String(value)
    if (!/^\d+$/.test(text))
      throw new ProfileError(`must be a non-negative integer (got ${JSON.stringify(value)})`, `failover_settings.${key}`)
    profile[section][key] = text
  }
  return /** @type {FailoverProfile} */ (profile)
}

/** The condition's terms for a profile, in seconds. @param {FailoverProfile} profile */
export function fencingTerms(profile) {
  /** A setting's value. @param {ProfileSection} section @param {string} key */
  const setting = (section, key) => /** @type {Record<string, string>} */ (profile[section])[key]
  /** @param {ProfileSection} section @param {string} key */
  const ms = (section, key) => Number(setting(section, key)) / 1000
  /** @param {ProfileSection} section @param {string} key */
  const s = (section, key) => Number(setting(section, key))
  const { keeperSleepS, keeperConnectTimeoutS, reportAgeS, stopPostgresS, localWorkS } = PG_AUTOCTL_CONSTANTS
  const mc = profile.monitorConnection
  const userTimeout = Number(mc.tcp_user_timeout) / 1000
  const keepalive =
    mc.keepalives === '1' ? Number(mc.keepalives_idle) + Number(mc.keepalives_interval) * Number(mc.keepalives_count) : Infinity
  const terms = {
    P: ms('monitor', 'pgautofailover.health_check_period'),
    T: ms('monitor', 'pgautofailover.health_check_timeout'),
    R: s('monitor', 'pgautofailover.health_check_max_retries'),
    D: ms('monitor', 'pgautofailover.health_check_retry_delay'),
    U: ms('monitor', 'pgautofailover.node_considered_unhealthy_timeout'),
    Dm: ms('monitor', 'pgautofailover.primary_demote_timeout'),
    N: s('keeper', 'timeout.network_partition_timeout'),
    W: ms('postgres', 'wal_sender_timeout'),
    S: s('postgres', 'wal_receiver_status_interval'),
    // A connection attempt to an unreachable monitor.
    C: userTimeout > 0 ? Math.min(keeperConnectTimeoutS, userTimeout) : keeperConnectTimeoutS,
    // A monitor query caught by the cut: tcp_user_timeout (data unacknowledged) or keepalives (none).
    // Either alone leaves a case open (unacknowledged data outlives keepalives; an idle wait for
    // an answer never trips tcp_user_timeout), so both are needed.
    E: userTimeout > 0 && Number.isFinite(keepalive) ? Math.max(userTimeout, keepalive) : Infinity,
  }
  const L = keeperSleepS + 2 * terms.C
  const firstCheckMax = Math.max(terms.C, terms.E, keeperSleepS) + terms.C + localWorkS
  const walsenderLingerMin = terms.W - Math.min(terms.S, terms.W / 2)
  const fenceMax = terms.W + terms.N + 1 + L + stopPostgresS
  const detectionMin = Math.max(terms.U - reportAgeS, (terms.R + 1) * terms.T + terms.R * terms.D)
  const promoteMin = detectionMin + terms.Dm
  return { ...terms, L, firstCheckMax, walsenderLingerMin, fenceMax, detectionMin, promoteMin, margin: promoteMin - fenceMax }
}

/**
 * Why a profile is not fencing-safe or would flap, each reason naming its terms; [] when it is fine.
 * @param {typeof FAILOVER_PROFILES.default} profile
 */
export function fencingViolations(profile) {
  const t = fencingTerms(profile)
  /** @param {number} x */
  const f = (x) => (Number.isFinite(x) ? `${Math.round(x * 10) / 10} s` : 'unbounded')
  const problems = []
  if (!(t.firstCheckMax < t.walsenderLingerMin)) {
    problems.push(
      `the keeper's first failed monitor call may come after the standbys' walsenders are gone (first check up to ${f(t.firstCheckMax)} = max(C, E, 1) + C + 1 with C ${f(t.C)}, E ${f(t.E)} from tcp_user_timeout/keepalives; walsenders linger at least ${f(t.walsenderLingerMin)} = wal_sender_timeout - min(wal_receiver_status_interval, wal_sender_timeout/2)), and then it never demotes itself`,
    )
  }
  if (!(t.margin >= REQUIRED_MARGIN_S)) {
    problems.push(
      `an isolated primary may still take writes ${f(t.fenceMax)} after the cut (wal_sender_timeout ${f(t.W)} + network_partition_timeout ${f(t.N)} + 1 + keeper loop ${f(t.L)} + 1) while a new primary may take writes from ${f(t.promoteMin)} (max(node_considered_unhealthy_timeout ${f(t.U)} - 1.5, (health_check_max_retries ${t.R} + 1) x health_check_timeout ${f(t.T)} + retries x health_check_retry_delay ${f(t.D)}) + primary_demote_timeout ${f(t.Dm)}): margin ${f(t.margin)}, needs at least ${REQUIRED_MARGIN_S} s`,
    )
  }
  if (t.R < 1) problems.push('health_check_max_retries must be at least 1: one lost health check would fail over')
  if (t.U < 3) problems.push(`node_considered_unhealthy_timeout ${f(t.U)} must be at least 3 s: a 1 s stall of a keeper would fail over`)
  if (t.W < t.S + 2)
    problems.push(
      `wal_sender_timeout ${f(t.W)} must be at least wal_receiver_status_interval ${f(t.S)} + 2 s: a 1 s stall of a standby would drop its replication`,
    )
  if (t.N < 1) problems.push('network_partition_timeout must be at least 1 s')
  return problems
}

export class ProfileError extends Error {
  /** @param {string} message @param {string} key the inventory key at fault */
  constructor(message, key) {
    super(message)
    this.name = 'ProfileError'
    this.code = 'PROFILE_INVALID'
    this.key = key
  }
}

/** The monitor URI a keeper uses: TLS as the inventory says, plus the profile's TCP timeouts. @param {FailoverProfile} profile */
export function monitorUriParams(profile) {
  return Object.entries(profile.monitorConnection)
    .map(([key, value]) => `${key}=${value}`)
    .join('&')
}

// Beyond promote_min, what the lab measured before the new primary took its first write: the
// monitor's one-second ticks and health-check rounds, a report_lsn round, the promotion itself
// (fast: 18.2-23.3 s against 14.5; default: 54.4-58.4 s against 49). Rounded up.
export const PROMOTION_JITTER_S = 10

/**
 * A client retry budget that outlasts a failover under this profile, so that a client retrying
 * with it sees latency, not errors, for any single-VM fault: promote_min + PROMOTION_JITTER_S +
 * one connect_timeout per host the client may try before it reaches the new primary.
 * @param {FailoverProfile} profile a resolved profile
 * @param {{connectTimeoutS: number, hosts: number}} client
 * @returns {number} milliseconds, a whole number of seconds
 */
export function clientRetryBudgetMs(profile, { connectTimeoutS, hosts }) {
  const { promoteMin } = fencingTerms(profile)
  return Math.ceil(promoteMin + PROMOTION_JITTER_S + connectTimeoutS * hosts) * 1000
}
