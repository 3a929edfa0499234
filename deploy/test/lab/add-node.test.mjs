// add-node.mjs on a 4-VM lab: the cluster is brought up from an inventory listing 3 nodes, then
// a 4th is added to the inventory and joins as a secondary (--node <its node_name>), with pg_hba
// on the others and the application DSN listing it.
import fs from 'node:fs/promises'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findVm } from '../../lab/lab-config.mjs'
import { jsonLines, nodeDsn, parseDatabaseUrl, psql, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{node_id: number, name: string, host: string, reported_state: string, assigned_state: string, role: string, health: number}} StatusNode
 * @typedef {{healthy: boolean, nodes: StatusNode[]}} StatusView
 */

const LAB = { name: 'pghtn', subnet: '10.213.55.0/24', profile: 'fast', vms: 4 }
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster
const savedVms = process.env.PGHA_LAB_VMS

beforeAll(async () => {
  // The netns transport sizes a lab from PGHA_LAB_VMS (default 3), not from the inventory:
  // the scripts this suite runs must know vm4 exists.
  process.env.PGHA_LAB_VMS = String(LAB.vms)
  cluster = await startLabCluster(LAB)
})
afterAll(async () => {
  await stopLabCluster(cluster)
  if (savedVms === undefined) delete process.env.PGHA_LAB_VMS
  else process.env.PGHA_LAB_VMS = savedVms
})

/** @param {...string} args */
const addNode = (...args) =>
  runScript('scripts/add-node.mjs', ['--inventory', cluster.inventory.file, '--env-output', cluster.inventory.envFile, ...args])
/** @returns {Promise<StatusView>} */
async function status() {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return JSON.parse(out.stdout)
}
/** @param {StatusView} view */
const snapshot = (view) => view.nodes.map((n) => `${n.node_id}:${n.name}=${n.reported_state}/${n.assigned_state}`).sort()

describe('add-node.mjs', () => {
  it('refuses a node that is not in the nodes group, or a host name for a node_name, with exit 2 and changes nothing', async () => {
    const before = snapshot(await status())
    const env = await fs.readFile(cluster.inventory.envFile, 'utf8')
    const unknown = await addNode('--node', 'node4')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(
      /--node "node4" is not a node of the inventory \(node1, node2, node3\); add its host to the nodes group first/,
    )
    const hostName = await addNode('--node', 'vm1')
    expect(hostName.code).toBe(2)
    expect(hostName.stderr).toContain('vm1 is an inventory host; --node takes a node_name: node1')
    const missing = await addNode()
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--node is required/)
    expect(snapshot(await status())).toEqual(before)
    expect(await fs.readFile(cluster.inventory.envFile, 'utf8')).toBe(env)
  })

  it('joins a 4th node as a healthy secondary; a second run is a no-op', async () => {
    expect(
      (await psql(cluster.databaseUrl, 'create table t(id int primary key); insert into t select generate_series(1, 500)')).stderr,
    ).toBe('')
    const vm4 = findVm(cluster.lab, 'vm4')
    const doc = YAML.parse(await fs.readFile(cluster.inventory.file, 'utf8'))
    doc.all.children.nodes.hosts.vm4 = { ansible_host: vm4.address, node_name: 'node4', lab_vm: 'vm4' }
    await fs.writeFile(cluster.inventory.file, YAML.stringify(doc))
    // --node takes the node_name, as in every other script: the host name is refused, naming it.
    const byHost = await addNode('--node', 'vm4')
    expect(byHost.code).toBe(2)
    expect(byHost.stderr).toContain('vm4 is an inventory host; --node takes a node_name: node4')

    const startedAt = Date.now()
    const out = await addNode('--node', 'node4', '--json')
    expect(out.code, out.stderr).toBe(0)
    const changed = jsonLines(out.stdout)
      .filter((e) => e.status === 'changed')
      .map((e) => `${e.step}${e.host ? ` [${e.host}]` : ''}`)
    expect(changed).toEqual(
      expect.arrayContaining([
        'passfile [vm4]',
        'node4: create [vm4]',
        'node4: service [vm4]',
        'node1: pg_hba [vm1]',
        'node2: pg_hba [vm2]',
        'node3: pg_hba [vm3]',
        'application DSN',
      ]),
    )
    process.stdout.write(`add-node of a 4th node: ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`)

    const view = await status()
    expect(view.healthy).toBe(true)
    expect(view.nodes).toHaveLength(4)
    expect(view.nodes.find((n) => n.name === 'node4')).toMatchObject({ role: 'secondary', health: 1, host: vm4.address })
    const env = await fs.readFile(cluster.inventory.envFile, 'utf8')
    const databaseUrl = /^DATABASE_URL='(.*)'$/m.exec(env)?.[1]
    if (!databaseUrl) throw new Error(`no DATABASE_URL in ${cluster.inventory.envFile}`)
    expect(parseDatabaseUrl(databaseUrl).hosts).toContain(`${vm4.address}:5432`)
    expect((await fs.stat(cluster.inventory.envFile)).mode & 0o777).toBe(0o600)
    expect((await psql(nodeDsn(databaseUrl, vm4.address), 'select count(*), pg_is_in_recovery() from t')).stdout).toBe('500|t')

    const before = snapshot(view)
    const again = await addNode('--node', 'node4')
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toMatch(/no change: node4 already in the cluster/)
    expect(again.stdout).not.toMatch(/^\+/m)
    expect(snapshot(await status())).toEqual(before)
  })
})
