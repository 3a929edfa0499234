// A former primary that comes back, not yet rewound, in the middle of another failover must never
// win it. The sequence (seen on pg_auto_failover 2.0 without the kit's timeline guard: the old
// primary was promoted again on its dead timeline and every write acknowledged since was gone):
// node1 (primary) isolated, writes it took alone (synchronous_commit=local) on timeline 1;
// node2 promoted (timeline 2) and acknowledges writes with node3 as its synchronous standby;
// node2 powered off; node1 back. The election must go to node3, every write acknowledged on
// timeline 2 must survive, and the cluster ends healthy with no operator step (node1 is rewound
// by the keeper guard).
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { heal, isolate, powerOff, restart } from '../../lab/lab.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { nodeDsn, psql, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

// node3 a lower (non-zero) priority so the first election goes to node2 (VM3 holds the monitor
// and cannot be powered off here).
const LAB = { name: 'pghfr', subnet: '10.213.60.0/24', profile: 'fast', hostVars: { vm3: { candidate_priority: 10 } } }
/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{name: string, reported_state: string, assigned_state: string, tli: number, lsn: string, health: number}} StatusNode
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

let lastView = ''
/** @returns {Promise<StatusView>} */
const status = async () => {
  /** @type {StatusView} */
  const view = JSON.parse((await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])).stdout)
  lastView = view.nodes
    .map((n) => `${n.name}=${n.reported_state}/${n.assigned_state} tli ${n.tli} lsn ${n.lsn} health ${n.health}`)
    .join('; ')
  return view
}
/** @param {StatusView} view @param {string} name */
const nodeNamed = (view, name) => view.nodes.find((n) => n.name === name)
/** @param {string} vm */
const address = (vm) => {
  const found = cluster.lab.vms.find((v) => v.vm === vm)
  if (!found) throw new Error(`${vm} is no VM of lab ${cluster.lab.name}`)
  return found.address
}

describe('a former primary back during another failover', () => {
  it('never wins the election, and no acknowledged write is lost', async () => {
    expect((await psql(cluster.databaseUrl, 'create table acked(id int not null)')).stderr).toBe('')

    await isolate(cluster.lab, 'vm1')
    // Writes only node1 has: WAL on timeline 1 past the point where node2 will fork.
    let local = 0
    for (let i = 0; i < 10; i++) {
      if (
        (
          await psql(nodeDsn(cluster.databaseUrl, address('vm1')), `set synchronous_commit = local; insert into acked values (${-1 - i})`, {
            timeoutMs: 5000,
          })
        ).ok
      )
        local++
    }
    expect(local).toBeGreaterThan(0)

    // node2 primary with node3 its synchronous standby (wait_primary would acknowledge alone).
    await waitFor(
      async () => {
        const view = await status()
        return nodeNamed(view, 'node2')?.reported_state === 'primary' && nodeNamed(view, 'node3')?.reported_state === 'secondary'
          ? view
          : null
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'node2 primary with node3 as its standby' },
    )
    /** @type {number[]} */
    const acknowledged = []
    for (let id = 1; id <= 20; id++) {
      if ((await psql(cluster.databaseUrl, `insert into acked values (${id})`, { timeoutMs: 10_000 })).ok) acknowledged.push(id)
    }
    expect(acknowledged.length).toBeGreaterThan(0)

    await powerOff(cluster.lab, 'vm2')
    await heal(cluster.lab, 'vm1')
    process.stdout.write(`returning old primary: ${acknowledged.length} writes acknowledged on timeline 2; vm2 powered off, vm1 back\n`)

    const landed = await waitFor(
      async () => {
        await status()
        const out = await psql(cluster.databaseUrl, 'insert into acked values (1000) returning host(inet_server_addr())', {
          timeoutMs: 10_000,
        })
        return out.ok ? out.stdout : null
      },
      { timeoutMs: 180_000, intervalMs: 1000, what: 'a primary taking writes after node1 came back', lastSeen: () => lastView },
    )
    const stored = (await psql(cluster.databaseUrl, "select coalesce(string_agg(id::text, ','), '') from acked")).stdout
      .split(',')
      .map(Number)
    const lost = acknowledged.filter((id) => !stored.includes(id))
    process.stdout.write(
      `returning old primary: new primary ${landed}, ${acknowledged.length} writes acknowledged on timeline 2, ${lost.length} lost\n`,
    )
    expect(lost).toEqual([])
    expect(landed).toBe(address('vm3'))

    // Back to a healthy cluster by itself: node2 rewinds on demoted -> catchingup as usual; node1,
    // whose WAL went past the fork and which pg_auto_failover 2.0 takes to join_secondary without
    // a rewind, is rewound by the kit's keeper guard (keeper-guard.sh). No operator step.
    await restart(cluster.lab, 'vm2')
    const backAt = Date.now()
    const guardLog = async () => {
      const vm1 = cluster.lab.vms.find((v) => v.vm === 'vm1')
      if (!vm1) throw new Error(`vm1 is no VM of lab ${cluster.lab.name}`)
      return (await readFile(path.join(vm1.logDir, 'pgautofailover-node-5432.log'), 'utf8'))
        .split('\n')
        .filter((line) => line.includes('keeper-guard:'))
        .join('\n')
    }
    let guardSeen = ''
    await waitFor(
      async () => {
        guardSeen = await guardLog()
        return (await status()).healthy ? true : null
      },
      {
        timeoutMs: 240_000,
        intervalMs: 2000,
        what: 'the cluster to be healthy again by itself',
        lastSeen: () => `${lastView}\nnode1's keeper guard:\n${guardSeen}`,
      },
    )
    process.stdout.write(
      `returning old primary: every node a healthy secondary or primary ${((Date.now() - backAt) / 1000).toFixed(1)} s after vm2 came back\n`,
    )
    process.stdout.write(`returning old primary: node1's keeper guard:\n${await guardLog()}\n`)
    expect(await guardLog()).toMatch(/keeper-guard: in join_secondary on timeline 1 .* stopping the keeper to rewind/)
    for (const vm of ['vm1', 'vm2', 'vm3']) {
      const rows = await waitFor(
        async () => {
          const out = await psql(nodeDsn(cluster.databaseUrl, address(vm)), `select count(*) from acked where id between 1 and 20`)
          return Number(out.stdout) === acknowledged.length ? out : null
        },
        { timeoutMs: 30_000, what: `${vm} to hold every acknowledged write` },
      )
      expect(Number(rows.stdout)).toBe(acknowledged.length)
    }
  }, 600_000)
})
