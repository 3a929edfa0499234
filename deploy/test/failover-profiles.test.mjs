// Every failover profile keeps the no-split-brain invariant and sets the same keys.
import { describe, expect, it } from 'vitest'
import { FAILOVER_PROFILES, PROFILE_NAMES, assertNoSplitBrain } from '../scripts/lib/failover-profiles.mjs'

describe('failover profiles', () => {
  it('offers default and fast', () => {
    expect(PROFILE_NAMES).toEqual(['default', 'fast'])
  })

  for (const name of Object.keys(FAILOVER_PROFILES)) {
    it(`${name}: a partitioned primary demotes itself before the monitor promotes another`, () => {
      expect(() => assertNoSplitBrain(name)).not.toThrow()
    })
  }

  it('sets the same monitor and keeper keys in every profile', () => {
    const keys = (profile) => [Object.keys(profile.monitor).sort(), Object.keys(profile.keeper).sort()]
    expect(keys(FAILOVER_PROFILES.fast)).toEqual(keys(FAILOVER_PROFILES.default))
  })

  it('default is pg_auto_failover stock', () => {
    expect(FAILOVER_PROFILES.default.monitor['pgautofailover.node_considered_unhealthy_timeout']).toBe('20000')
    expect(FAILOVER_PROFILES.default.keeper['timeout.network_partition_timeout']).toBe('20')
  })

  it('rejects a profile that would allow two primaries', () => {
    FAILOVER_PROFILES.broken = { monitor: { 'pgautofailover.primary_demote_timeout': '4000' }, keeper: { 'timeout.network_partition_timeout': '5' } }
    try {
      expect(() => assertNoSplitBrain('broken')).toThrow(/must exceed network_partition_timeout/)
    } finally {
      delete FAILOVER_PROFILES.broken
    }
  })
})
