// Judging the monitor's view: roles, a healthy cluster, and standbys stuck on their way back.
import { describe, expect, it } from 'vitest'
import { STUCK_AFTER_S, assessCluster, roleOf, stuckCause, stuckNodes } from '../scripts/lib/cluster-health.mjs'

const node = (name, reported, assigned = reported, extra = {}) => ({ name, reported_state: reported, assigned_state: assigned, health: 1, ...extra })

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
    expect(assessCluster([node('a', 'primary'), node('b', 'secondary'), node('c', 'secondary')], 3)).toEqual({ healthy: true, problems: [] })
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
    expect(stuckNodes(nodes).map((n) => n.name)).toEqual(['stuck', 'slow'])
    expect(stuckNodes(nodes, { afterS: 1000 })).toEqual([])
  })
})

describe('stuckCause', () => {
  it('names a former primary that followed without pg_rewind: an older timeline than the primary', () => {
    const primary = node('p', 'primary', 'primary', { tli: 3 })
    const diverged = node('old', 'join_secondary', 'secondary', { tli: 2 })
    expect(stuckCause(diverged, [primary, diverged])).toMatch(/timeline 2 while the primary p is on 3: likely a former primary .* without pg_rewind/)
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
