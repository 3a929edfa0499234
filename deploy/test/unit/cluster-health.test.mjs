// Judging the monitor's view: roles, a healthy cluster, and standbys stuck on their way back.
import { describe, expect, it } from 'vitest'
import { STUCK_AFTER_S, assessCluster, roleOf, stuckCause, stuckNodes } from '../../scripts/lib/cluster-health.mjs'

/**
 * A node as the monitor reports it.
 * @param {string} name @param {string} reported @param {string} [assigned] @param {Record<string, unknown>} [extra]
 */
const node = (name, reported, assigned = reported, extra = {}) => ({
  name,
  reported_state: reported,
  assigned_state: assigned,
  health: 1,
  ...extra,
})

describe('roleOf', () => {
  it('is the primary only while the monitor still assigns a writable state', () => {
    expect(roleOf(node('a', 'primary'))).toBe('primary')
    expect(roleOf(node('a', 'wait_primary', 'primary'))).toBe('primary')
    // Powered off: still reports primary, the monitor has demoted it.
    expect(roleOf(node('a', 'primary', 'demoted'))).toBe('demoted')
    expect(roleOf(node('b', 'secondary'))).toBe('secondary')
    expect(roleOf(node('b', 'catchingup', 'secondary'))).toBe('catchingup')
  })
})

describe('assessCluster', () => {
  it('is healthy with one primary and settled, healthy secondaries', () => {
    expect(assessCluster([node('a', 'primary'), node('b', 'secondary'), node('c', 'secondary')], 3)).toEqual({
      healthy: true,
      verdict: 'healthy',
      problems: [],
      maintenance: [],
    })
  })
  it('names every problem', () => {
    const { healthy, problems } = assessCluster([node('a', 'primary'), node('b', 'join_secondary', 'secondary', { health: 0 })], 3)
    expect(healthy).toBe(false)
    expect(problems).toEqual([
      'the monitor knows 2 nodes, the inventory has 3',
      'b: health check failing',
      'b: join_secondary while assigned secondary',
      'b: in state join_secondary',
    ])
    expect(assessCluster([node('a', 'primary'), node('b', 'primary')], 2).problems).toContain('2 primaries (a, b)')
  })
  it('calls a healthy cluster healthy, and an unhealthy one unhealthy', () => {
    expect(assessCluster([node('a', 'primary'), node('b', 'secondary'), node('c', 'secondary')], 3)).toMatchObject({
      verdict: 'healthy',
      maintenance: [],
    })
    expect(
      assessCluster([node('a', 'primary'), node('b', 'secondary', 'secondary', { health: 0 }), node('c', 'secondary')], 3).verdict,
    ).toBe('unhealthy')
  })
})

describe('assessCluster with a node in planned maintenance', () => {
  // Postgres is stopped in maintenance: the monitor's health check of that node fails by design.
  /** @param {string} name @param {string} [reported] @param {string} [assigned] */
  const inMaintenance = (name, reported = 'maintenance', assigned = 'maintenance') => node(name, reported, assigned, { health: 0 })

  it('is degraded, not unhealthy, when a standby is in maintenance and the rest is healthy', () => {
    const result = assessCluster([node('a', 'primary'), inMaintenance('b'), node('c', 'secondary')], 3)
    expect(result).toEqual({ healthy: false, verdict: 'degraded', problems: [], maintenance: ['b'] })
  })
  it('counts wait_maintenance and prepare_maintenance the monitor assigned as maintenance too', () => {
    expect(
      assessCluster([node('a', 'primary'), inMaintenance('b', 'secondary', 'wait_maintenance'), node('c', 'secondary')], 3),
    ).toMatchObject({ verdict: 'degraded', maintenance: ['b'] })
    expect(
      assessCluster([node('a', 'primary'), inMaintenance('b', 'secondary', 'prepare_maintenance'), node('c', 'secondary')], 3),
    ).toMatchObject({ verdict: 'degraded', maintenance: ['b'] })
  })
  it('accepts the primary in wait_primary while its only standby is in maintenance (2 nodes)', () => {
    expect(assessCluster([node('a', 'wait_primary'), inMaintenance('b')], 2)).toMatchObject({ verdict: 'degraded', problems: [] })
    // Without maintenance, a primary in wait_primary is a problem.
    expect(assessCluster([node('a', 'wait_primary'), node('b', 'catchingup', 'secondary')], 2).verdict).toBe('unhealthy')
  })
  it('is unhealthy when something else is wrong besides the maintenance, naming only that', () => {
    const failing = assessCluster([node('a', 'primary'), inMaintenance('b'), node('c', 'secondary', 'secondary', { health: 0 })], 3)
    expect(failing).toMatchObject({ healthy: false, verdict: 'unhealthy', problems: ['c: health check failing'], maintenance: ['b'] })
    // The primary itself on its way into maintenance: no primary yet, that is not "the rest healthy".
    const noPrimary = assessCluster(
      [node('a', 'primary', 'prepare_maintenance'), node('b', 'secondary', 'prepare_promotion'), node('c', 'secondary')],
      3,
    )
    expect(noPrimary.verdict).toBe('unhealthy')
    expect(noPrimary.problems).toContain('0 primaries (none)')
    expect(assessCluster([node('a', 'primary'), inMaintenance('b')], 3).verdict).toBe('unhealthy')
  })
  it('does not count a node the operator took out of maintenance that has not caught up yet', () => {
    const result = assessCluster([node('a', 'primary'), node('b', 'maintenance', 'catchingup'), node('c', 'secondary')], 3)
    expect(result).toMatchObject({ verdict: 'unhealthy', maintenance: [] })
  })
})

describe('stuckNodes', () => {
  it('finds standbys that have been joining for longer than the limit, nothing else', () => {
    const nodes = [
      node('p', 'primary', 'primary', { seconds_since_assigned: 9000 }),
      node('s', 'secondary', 'secondary', { seconds_since_assigned: 9000 }),
      node('new', 'join_secondary', 'secondary', { seconds_since_assigned: STUCK_AFTER_S - 1 }),
      node('stuck', 'join_secondary', 'secondary', { seconds_since_assigned: STUCK_AFTER_S + 1 }),
      node('slow', 'catchingup', 'catchingup', { seconds_since_assigned: 600 }),
      node('unknown', 'join_secondary', 'secondary'),
    ]
    expect(stuckNodes(nodes).map((/** @type {{name: string}} */ n) => n.name)).toEqual(['stuck', 'slow'])
    expect(stuckNodes(nodes, { afterS: 1000 })).toEqual([])
  })
})

describe('stuckCause', () => {
  it('names a former primary that followed without pg_rewind: an older timeline than the primary', () => {
    const primary = node('p', 'primary', 'primary', { tli: 3 })
    const diverged = node('old', 'join_secondary', 'secondary', { tli: 2 })
    expect(stuckCause(diverged, [primary, diverged])).toMatch(
      /timeline 2 while the primary p is on 3: likely a former primary .* without pg_rewind/,
    )
  })
  it('says nothing when the view does not show the cause', () => {
    const primary = node('p', 'primary', 'primary', { tli: 3 })
    const sameTimeline = node('s', 'join_secondary', 'secondary', { tli: 3 })
    const rewinding = node('r', 'catchingup', 'secondary', { tli: 2 })
    expect(stuckCause(sameTimeline, [primary, sameTimeline])).toBeUndefined()
    expect(stuckCause(rewinding, [primary, rewinding])).toBeUndefined()
    expect(stuckCause(sameTimeline, [sameTimeline])).toBeUndefined()
  })
})
