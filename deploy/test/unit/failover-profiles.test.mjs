// The fencing condition (failover-profiles.mjs): every shipped profile meets it with its margin,
// and profiles that only look safe are refused with the terms that break.
import { describe, expect, it } from 'vitest'
import {
  FAILOVER_PROFILES,
  PROFILE_NAMES,
  REQUIRED_MARGIN_S,
  clientRetryBudgetMs,
  fencingTerms,
  fencingViolations,
  resolveProfile,
} from '../../scripts/lib/failover-profiles.mjs'
import { parseInventory } from '../../scripts/lib/inventory.mjs'

/** pg_auto_failover 2.0 as it ships: no keepalives on the monitor connection, wal_sender_timeout 30 s. */
const stock = () => {
  const profile = resolveProfile('default', { wal_sender_timeout: 30000, wal_receiver_status_interval: 10 })
  profile.monitorConnection = {
    keepalives: '0',
    keepalives_idle: '0',
    keepalives_interval: '0',
    keepalives_count: '0',
    tcp_user_timeout: '0',
  }
  return profile
}

/**
 * The check this module replaces: primary_demote_timeout > network_partition_timeout, nothing else.
 * @param {ReturnType<typeof resolveProfile>} profile
 */
const oldCheck = (profile) =>
  Number(profile.monitor['pgautofailover.primary_demote_timeout']) > Number(profile.keeper['timeout.network_partition_timeout']) * 1000

describe('failover profiles', () => {
  it('offers default and fast', () => {
    expect(PROFILE_NAMES).toEqual(['default', 'fast'])
  })

  for (const name of PROFILE_NAMES) {
    it(`${name}: the old primary is fenced at least ${REQUIRED_MARGIN_S} s before a new one can take writes`, () => {
      const profile = resolveProfile(name)
      expect(fencingViolations(profile)).toEqual([])
      const t = fencingTerms(profile)
      expect(t.promoteMin - t.fenceMax).toBeGreaterThanOrEqual(REQUIRED_MARGIN_S)
      expect(t.firstCheckMax).toBeLessThan(t.walsenderLingerMin)
    })
  }

  it('computes the terms as the source says (fast)', () => {
    const t = fencingTerms(resolveProfile('fast'))
    // C = min(2 s, tcp_user_timeout 1 s); E = max(1 s, keepalives 1 + 1 x 1); L = 1 + 2C.
    expect({ C: t.C, E: t.E, L: t.L }).toEqual({ C: 1, E: 2, L: 3 })
    expect(t.fenceMax).toBe(6 + 1 + 1 + 3 + 1)
    expect(t.promoteMin).toBe(Math.max(4 - 1.5, 2 * 1 + 1 * 0.5) + 12)
  })

  it('default keeps pg_auto_failover stock monitor and keeper timeouts', () => {
    expect(FAILOVER_PROFILES.default.monitor['pgautofailover.node_considered_unhealthy_timeout']).toBe('20000')
    expect(FAILOVER_PROFILES.default.monitor['pgautofailover.primary_demote_timeout']).toBe('30000')
    expect(FAILOVER_PROFILES.default.keeper['timeout.network_partition_timeout']).toBe('20')
  })

  it('sets the same keys in every profile', () => {
    /** @param {typeof FAILOVER_PROFILES.default} profile */
    const keys = (profile) => Object.values(profile).map((section) => Object.keys(section).sort())
    expect(keys(FAILOVER_PROFILES.fast)).toEqual(keys(FAILOVER_PROFILES.default))
  })

  it('refuses stock pg_auto_failover 2.0, which the old check accepted', () => {
    const profile = stock()
    expect(oldCheck(profile)).toBe(true)
    const problems = fencingViolations(profile).join('\n')
    expect(problems).toMatch(/walsenders are gone .*E unbounded/)
    expect(problems).toMatch(/isolated primary may still take writes 57 s after the cut .*from 49 s/)
  })

  it('refuses the earlier fast profile (unhealthy 4 s, demote 10 s, partition 5 s), which the old check accepted', () => {
    const profile = resolveProfile('fast', {
      'pgautofailover.primary_demote_timeout': 10000,
      'timeout.network_partition_timeout': 5,
      wal_sender_timeout: 30000,
    })
    expect(oldCheck(profile)).toBe(true)
    expect(fencingViolations(profile).join('\n')).toMatch(/wal_sender_timeout 30 s \+ network_partition_timeout 5 s .*margin -27.5 s/)
  })

  it('refuses keepalives without tcp_user_timeout: a query whose data is unacknowledged outlives them', () => {
    const profile = resolveProfile('fast', { tcp_user_timeout: 0 })
    expect(fencingTerms(profile).E).toBe(Infinity)
    expect(fencingViolations(profile).join('\n')).toMatch(/never demotes itself/)
  })

  it('refuses a wal_sender_timeout the keeper may not see before it expires', () => {
    expect(fencingViolations(resolveProfile('fast', { wal_sender_timeout: 5000 })).join('\n')).toMatch(
      /first check up to 4 s .*walsenders linger at least 4 s/,
    )
  })

  it('refuses profiles that would flap', () => {
    expect(fencingViolations(resolveProfile('fast', { 'pgautofailover.health_check_max_retries': 0 })).join('\n')).toMatch(
      /one lost health check/,
    )
    expect(
      fencingViolations(
        resolveProfile('fast', {
          'pgautofailover.node_considered_unhealthy_timeout': 2000,
          'pgautofailover.primary_demote_timeout': 20000,
        }),
      ).join('\n'),
    ).toMatch(/stall of a keeper/)
  })

  it('accepts a slower override that still meets the condition', () => {
    expect(fencingViolations(resolveProfile('fast', { 'pgautofailover.primary_demote_timeout': 20000 }))).toEqual([])
  })
})

describe('failover_settings in the inventory', () => {
  /** @param {Record<string, unknown>} vars */
  const inventory = (vars) => ({
    all: { vars: { network_cidr: '10.0.0.0/24', transport: 'ssh', ...vars } },
    monitor: { hosts: { m: { ansible_host: '10.0.0.13', pg_port: 5431 } } },
    nodes: { hosts: { a: { ansible_host: '10.0.0.11' }, b: { ansible_host: '10.0.0.12' } } },
  })

  it('applies the settings on top of the profile', () => {
    const parsed = parseInventory(
      inventory({ failover_profile: 'fast', failover_settings: { 'pgautofailover.primary_demote_timeout': 20000 } }),
      'inv.yml',
    )
    expect(parsed.failover.monitor['pgautofailover.primary_demote_timeout']).toBe('20000')
    expect(parsed.failover.postgres.wal_sender_timeout).toBe('6000')
  })

  it('refuses settings that break the condition, naming the terms', () => {
    expect(() =>
      parseInventory(
        inventory({ failover_profile: 'fast', failover_settings: { 'pgautofailover.primary_demote_timeout': 8000 } }),
        'inv.yml',
      ),
    ).toThrow(
      /inv\.yml: all\.vars\.failover_settings: failover profile "fast" with these settings is not fencing-safe: .*primary_demote_timeout 8 s\): margin -1.5 s/,
    )
  })

  it('refuses an unknown setting or a value that is not a number', () => {
    expect(() => parseInventory(inventory({ failover_settings: { wal_sender_timout: 1000 } }), 'inv.yml')).toThrow(
      /all\.vars\.failover_settings\.wal_sender_timout: unknown setting "wal_sender_timout": use one of /,
    )
    expect(() => parseInventory(inventory({ failover_settings: { wal_sender_timeout: '10s' } }), 'inv.yml')).toThrow(
      /failover_settings\.wal_sender_timeout: must be a non-negative integer \(got "10s"\)/,
    )
  })
})

describe('clientRetryBudgetMs', () => {
  it('outlasts the longest outage measured for each shipped profile, with the client walking every host', () => {
    const fast = clientRetryBudgetMs(resolveProfile('fast'), { connectTimeoutS: 3, hosts: 3 })
    const stock = clientRetryBudgetMs(resolveProfile('default'), { connectTimeoutS: 3, hosts: 3 })
    // README's figures: fast up to 23.3 s, default up to 58.4 s before the first write.
    expect(fast).toBe(34_000)
    expect(stock).toBe(68_000)
    expect(fast).toBeGreaterThan(23_300)
    expect(stock).toBeGreaterThan(58_400)
  })
})
