// Bring-up's last word on where the primary runs: not on the monitor's host (VM3) when a healthy
// secondary elsewhere has a higher candidate priority (losing VM3 would then lose the primary and
// the monitor that could promote a standby together).
import { describe, expect, it } from 'vitest'
import { primaryMoveTarget } from '../../scripts/lib/bringup-steps.mjs'

// The example inventory's shape: the monitor and node3 on 10.0.0.13.
const inventory = {
  monitor: { host: 'vm3-monitor', address: '10.0.0.13', port: 5432 },
  nodes: [
    { host: 'vm1', nodeName: 'node1', address: '10.0.0.11', port: 5432 },
    { host: 'vm2', nodeName: 'node2', address: '10.0.0.12', port: 5432 },
    { host: 'vm3', nodeName: 'node3', address: '10.0.0.13', port: 5433 },
  ],
}
/**
 * A row of the monitor's view.
 * @param {string} name @param {string} state @param {number} priority @param {Record<string, unknown>} [extra]
 */
const row = (name, state, priority, extra = {}) => ({
  name,
  reported_state: state,
  assigned_state: state,
  health: 1,
  candidate_priority: priority,
  ...extra,
})

describe('primaryMoveTarget', () => {
  it("leaves a primary that is not on the monitor's host where it is", () => {
    const decision = primaryMoveTarget(
      [row('node1', 'primary', 50), row('node2', 'secondary', 50), row('node3', 'secondary', 10)],
      inventory,
    )
    expect(decision).toMatchObject({ move: false, primary: 'node1' })
    expect(decision.reason).toMatch(/not on the monitor's host 10\.0\.0\.13/)
  })

  it("moves the primary off the monitor's host to the healthy secondary of highest priority", () => {
    expect(
      primaryMoveTarget([row('node1', 'secondary', 50), row('node2', 'secondary', 60), row('node3', 'primary', 10)], inventory),
    ).toMatchObject({ move: true, primary: 'node3', target: 'node2' })
    // Equal priorities: the first in the inventory.
    expect(
      primaryMoveTarget([row('node1', 'secondary', 50), row('node2', 'secondary', 50), row('node3', 'primary', 10)], inventory),
    ).toMatchObject({ move: true, target: 'node1' })
  })

  it('skips secondaries that are not healthy, not settled, or of no higher priority', () => {
    const nodes = [
      row('node1', 'secondary', 50, { health: 0 }),
      row('node2', 'catchingup', 50, { assigned_state: 'secondary' }),
      row('node3', 'primary', 10),
    ]
    const decision = primaryMoveTarget(nodes, inventory)
    expect(decision).toMatchObject({ move: false, primary: 'node3' })
    expect(decision.reason).toMatch(/shares the monitor's host .*no healthy secondary elsewhere with a higher candidate priority/)
    // Priority 0 never becomes primary; the same priority is no better than the primary's.
    expect(
      primaryMoveTarget([row('node1', 'secondary', 0), row('node2', 'secondary', 10), row('node3', 'primary', 10)], inventory).move,
    ).toBe(false)
    expect(
      primaryMoveTarget([row('node1', 'secondary', 50), row('node2', 'secondary', 10), row('node3', 'primary', 10)], inventory),
    ).toMatchObject({ move: true, target: 'node1' })
  })

  it('does nothing without exactly one primary', () => {
    expect(primaryMoveTarget([row('node1', 'secondary', 50), row('node3', 'secondary', 10)], inventory).move).toBe(false)
  })
})
