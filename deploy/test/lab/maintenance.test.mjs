// maintenance.mjs on a lab cluster: a standby into maintenance and back, the primary only with
// --allow-failover, and every bad input refused with exit 2 before anything changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jsonLines, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{name: string, reported_state: string, assigned_state: string, role: string, health: number}} StatusNode
 * @typedef {{healthy: boolean, verdict: string, problems: string[], maintenance: string[], nodes: StatusNode[]}} StatusView
 */

const LAB = { name: 'pghtm', subnet: '10.213.53.0/24', profile: 'fast' }
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster

beforeAll(async () => {
  cluster = await startLabCluster(LAB)
})
afterAll(async () => {
  await stopLabCluster(cluster)
})

/** @param {...string} args */
const maintenance = (...args) => runScript('scripts/maintenance.mjs', ['--inventory', cluster.inventory.file, ...args])
/** @returns {Promise<StatusView>} */
async function status() {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return JSON.parse(out.stdout)
}
/** status.mjs as an operator or a monitoring probe runs it: its exit code and its text. */
const statusText = () => runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file])
/** @param {StatusView} view @param {string} name */
const stateOf = (view, name) => view.nodes.find((n) => n.name === name)
/** @param {StatusView} view */
const snapshot = (view) => view.nodes.map((n) => `${n.name}=${n.reported_state}/${n.assigned_state}`).sort()

describe('maintenance.mjs', () => {
  it('refuses bad input with exit 2, naming the problem, and changes nothing', async () => {
    const before = snapshot(await status())
    const unknown = await maintenance('--node', 'node9', '--enable')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--node "node9" is not a node of the inventory \(node1, node2, node3\)/)
    const neither = await maintenance('--node', 'node2')
    expect(neither.code).toBe(2)
    expect(neither.stderr).toMatch(/exactly one of --enable or --disable/)
    const both = await maintenance('--node', 'node2', '--enable', '--disable')
    expect(both.code).toBe(2)
    const primary = await maintenance('--node', 'node1', '--enable')
    expect(primary.code).toBe(2)
    expect(primary.stderr).toMatch(/node1 is the primary.*--allow-failover/)
    expect(snapshot(await status())).toEqual(before)
  })

  it('puts a standby into maintenance and back; a second run is a no-op', async () => {
    const enable = await maintenance('--node', 'node2', '--enable', '--json')
    expect(enable.code, enable.stderr).toBe(0)
    expect(
      jsonLines(enable.stdout)
        .filter((e) => e.status === 'changed')
        .map((e) => e.step),
    ).toEqual(['node2: enable maintenance'])
    let view = await status()
    expect(stateOf(view, 'node2')).toMatchObject({ reported_state: 'maintenance', assigned_state: 'maintenance' })
    expect(stateOf(view, 'node1')).toMatchObject({ role: 'primary', health: 1 })
    expect(stateOf(view, 'node3')).toMatchObject({ role: 'secondary', health: 1 })
    // Planned, the rest healthy: degraded (exit 3), not unhealthy (exit 1).
    expect(view).toMatchObject({ verdict: 'degraded', healthy: false, problems: [], maintenance: ['node2'] })
    const during = await statusText()
    expect(during.code, during.stdout + during.stderr).toBe(3)
    expect(during.stdout).toMatch(/^DEGRADED \(planned maintenance\): in planned maintenance: node2; the rest is healthy/m)
    expect(during.stdout).not.toMatch(/UNHEALTHY/)

    const again = await maintenance('--node', 'node2', '--enable')
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/no change: node2 is already maintenance/)
    expect(again.stdout).not.toMatch(/^\+/m)

    const disable = await maintenance('--node', 'node2', '--disable')
    expect(disable.code, disable.stderr).toBe(0)
    view = await status()
    expect(view.healthy).toBe(true)
    expect(view).toMatchObject({ verdict: 'healthy', maintenance: [] })
    expect((await statusText()).code).toBe(0)
    expect(stateOf(view, 'node2')).toMatchObject({ role: 'secondary', reported_state: 'secondary', health: 1 })
    const disableAgain = await maintenance('--node', 'node2', '--disable')
    expect(disableAgain.code).toBe(0)
    expect(disableAgain.stdout).toMatch(/no change: node2 is already secondary/)
  })

  it('with --allow-failover takes the primary into maintenance after a failover, and back as a secondary', async () => {
    const enable = await maintenance('--node', 'node1', '--enable', '--allow-failover')
    expect(enable.code, enable.stderr).toBe(0)
    let view = await status()
    expect(stateOf(view, 'node1')).toMatchObject({ reported_state: 'maintenance', assigned_state: 'maintenance' })
    const primaries = view.nodes.filter((n) => n.role === 'primary')
    expect(primaries).toHaveLength(1)
    const [newPrimary] = primaries
    if (!newPrimary) throw new Error('status reports no primary')
    expect(newPrimary.name).not.toBe('node1')
    expect(view).toMatchObject({ verdict: 'degraded', maintenance: ['node1'] })
    expect((await statusText()).code).toBe(3)

    const disable = await maintenance('--node', 'node1', '--disable')
    expect(disable.code, disable.stderr).toBe(0)
    view = await status()
    expect(view.healthy).toBe(true)
    expect(stateOf(view, 'node1')).toMatchObject({ role: 'secondary', health: 1 })
  })
})
