// rejoin.mjs on a lab cluster: a standby whose data directory is wrecked (pg_wal and pg_control
// gone, so its keeper can never start Postgres again by itself) is rebuilt from a base backup
// of the primary and is back as a healthy secondary with every row.
import path from 'node:path'
import { $ } from 'zx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findVm } from '../../lab/lab-config.mjs'
import { startService, stopService } from '../../lab/services.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { jsonLines, nodeDsn, psql, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

const LAB = { name: 'pghtj', subnet: '10.213.54.0/24', profile: 'fast' }
const KEEPER = 'pgautofailover-node-5432'
/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{node_id: number, name: string, host: string, reported_state: string, assigned_state: string, role: string, health: number}} StatusNode
 * @typedef {{healthy: boolean, nodes: StatusNode[]}} StatusView
 */
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster

beforeAll(async () => {
  cluster = await startLabCluster(LAB)
})
afterAll(async () => {
  await stopLabCluster(cluster)
})

/** @param {...string} args */
const rejoin = (...args) => runScript('scripts/rejoin.mjs', ['--inventory', cluster.inventory.file, ...args])
/** @returns {Promise<StatusView>} */
async function status() {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return JSON.parse(out.stdout)
}
/** @param {StatusView} view @param {string} name */
const stateOf = (view, name) => view.nodes.find((n) => n.name === name)
/** @param {StatusView} view */
const snapshot = (view) => view.nodes.map((n) => `${n.node_id}:${n.name}=${n.reported_state}/${n.assigned_state}`).sort()

describe('rejoin.mjs', () => {
  it('refuses bad input with exit 2, naming the problem, and changes nothing', async () => {
    const before = snapshot(await status())
    const unknown = await rejoin('--node', 'node9', '--yes')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--node "node9" is not a node of the inventory/)
    const noYes = await rejoin('--node', 'node2')
    expect(noYes.code).toBe(2)
    expect(noYes.stderr).toMatch(/deletes node2's data .* Add --yes to confirm/)
    const primary = await rejoin('--node', 'node1', '--yes')
    expect(primary.code).toBe(2)
    expect(primary.stderr).toMatch(/node1 is the current primary/)
    const healthy = await rejoin('--node', 'node2', '--yes')
    expect(healthy.code).toBe(0)
    expect(healthy.stdout).toMatch(/no change: node2 is already a healthy secondary/)
    expect(snapshot(await status())).toEqual(before)
  })

  it('rebuilds a standby with a wrecked data directory; a second run is a no-op', async () => {
    expect((await psql(cluster.databaseUrl, 'create table kept(id int primary key)')).stderr).toBe('')
    expect((await psql(cluster.databaseUrl, 'insert into kept select generate_series(1, 1000)')).ok).toBe(true)

    // Wreck node2: keeper and Postgres stopped, WAL and control file gone, keeper started again.
    const vm = findVm(cluster.lab, 'vm2')
    const pgdata = path.join(vm.mounts['/var/lib/postgresql'], 'pgaf/node')
    await stopService(vm, KEEPER)
    await $`rm -rf ${path.join(pgdata, 'pg_wal')} ${path.join(pgdata, 'global/pg_control')}`
    await startService(vm, KEEPER)
    // Writes go on without node2; these rows exist only on the primary and node3.
    expect((await psql(cluster.databaseUrl, 'insert into kept select generate_series(1001, 2000)')).ok).toBe(true)
    const broken = await waitFor(
      async () => {
        const node2 = stateOf(await status(), 'node2')
        if (!node2) throw new Error('status does not list node2')
        return node2.health === 0 ? node2 : null
      },
      { timeoutMs: 60_000, what: 'the monitor to see node2 failing' },
    )
    expect(broken.health).toBe(0)
    // It does not heal by itself.
    await new Promise((resolve) => setTimeout(resolve, 5000))
    expect(stateOf(await status(), 'node2')?.health).toBe(0)

    const startedAt = Date.now()
    const out = await rejoin('--node', 'node2', '--yes', '--json')
    expect(out.code, out.stderr).toBe(0)
    const changed = jsonLines(out.stdout)
      .filter((e) => e.status === 'changed')
      .map((e) => e.step)
    expect(changed).toEqual(
      expect.arrayContaining(['node2: stop', 'node2: drop from monitor', 'node2: delete data', 'node2: create', 'node2: service']),
    )
    process.stdout.write(`rejoin of a wrecked standby: ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`)

    const view = await status()
    expect(view.healthy).toBe(true)
    expect(stateOf(view, 'node2')).toMatchObject({ role: 'secondary', reported_state: 'secondary', health: 1 })
    expect(stateOf(view, 'node1')).toMatchObject({ role: 'primary' })
    const rebuilt = stateOf(view, 'node2')
    if (!rebuilt) throw new Error('status does not list node2')
    const rows = await psql(nodeDsn(cluster.databaseUrl, rebuilt.host), 'select count(*), pg_is_in_recovery() from kept')
    expect(rows.stdout).toBe('2000|t')

    const before = snapshot(view)
    const again = await rejoin('--node', 'node2', '--yes')
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/no change/)
    expect(again.stdout).not.toMatch(/^\+/m)
    expect(snapshot(await status())).toEqual(before)
  })
})
