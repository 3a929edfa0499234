// From nothing: lab up -> bring-up -> one primary and two secondaries, replication works,
// libpq lands on the primary through the DSN, a re-run is a no-op, status matches the monitor,
// and a re-run finding the primary on the monitor's host (VM3) moves it to another node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { findVm } from '../../lab/lab-config.mjs'
import { vmCommand } from '../../lab/vm-exec.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { jsonLines, nodeDsn, parseDatabaseUrl, psql, startLabCluster, stopLabCluster } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{name: string, host: string, port: number, reported_state: string, assigned_state: string, role: string, health: number, tli: number}} StatusNode
 * @typedef {{healthy: boolean, nodes: StatusNode[]}} StatusView
 */
/**
 * A node as `pg_autoctl show state --json` on the monitor reports it, the fields compared here.
 * @typedef {{nodename: string, nodehost: string, nodeport: number, current_group_state: string, assigned_group_state: string, health: number, reported_tli: number}} MonitorStateNode
 */

const LAB = { name: 'pghtb', subnet: '10.213.41.0/24' }
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster

beforeAll(async () => {
  cluster = await startLabCluster(LAB)
  process.stdout.write(`bring-up from nothing: ${(cluster.bringupMs / 1000).toFixed(1)} s\n`)
})
afterAll(async () => {
  await stopLabCluster(cluster)
})

/** @returns {Promise<{code: number | null, status: StatusView}>} */
const statusJson = async () => {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'])
  return { code: out.code, status: JSON.parse(out.stdout) }
}

describe('bring-up on a fresh lab', () => {
  it('ends with one primary and two secondaries, all healthy', async () => {
    const { code, status } = await statusJson()
    expect(code).toBe(0)
    expect(status.healthy).toBe(true)
    expect(status.nodes.map((n) => n.role).sort()).toEqual(['primary', 'secondary', 'secondary'])
    expect(status.nodes.every((n) => n.health === 1)).toBe(true)
    const steps = jsonLines(cluster.bringup.stdout).filter((r) => r.event === 'step')
    expect(steps.find((s) => s.step === 'node1: primary')?.detail).toMatch(/state (single|wait_primary|primary)/)
  })

  it('replicates a row written on the primary to both standbys', async () => {
    const marker = `row-${Date.now()}`
    const write = await psql(
      cluster.databaseUrl,
      `create table if not exists replication_probe(v text); insert into replication_probe values ('${marker}')`,
    )
    expect(write.stderr).toBe('')
    expect(write.ok).toBe(true)
    const { status } = await statusJson()
    const standbys = status.nodes.filter((n) => n.role === 'secondary')
    expect(standbys).toHaveLength(2)
    for (const standby of standbys) {
      const seen = await waitFor(
        async () => {
          const read = await psql(
            nodeDsn(cluster.databaseUrl, standby.host),
            `select count(*) from replication_probe where v = '${marker}'`,
          )
          return read.stdout === '1' ? read : null
        },
        { timeoutMs: 15_000, what: `the row on ${standby.name}` },
      )
      expect(seen.stdout).toBe('1')
      const recovery = await psql(nodeDsn(cluster.databaseUrl, standby.host), 'select pg_is_in_recovery()')
      expect(recovery.stdout).toBe('t')
    }
  })

  it('lands libpq (psql with the DSN) on the primary', async () => {
    const { status } = await statusJson()
    const primary = status.nodes.find((n) => n.role === 'primary')
    if (!primary) throw new Error('status reports no primary')
    const out = await psql(cluster.databaseUrl, "select host(inet_server_addr()) || ' ' || pg_is_in_recovery()")
    expect(out.stdout).toBe(`${primary.host} false`)
  })

  it('lists every data node in the DSN it writes', () => {
    const { hosts, params } = parseDatabaseUrl(cluster.databaseUrl)
    const prefix = LAB.subnet.split('.').slice(0, 3).join('.')
    expect(hosts).toEqual([`${prefix}.11:5432`, `${prefix}.12:5432`, `${prefix}.13:5433`])
    expect(params.target_session_attrs).toBe('read-write')
    expect(Number(params.connect_timeout)).toBeGreaterThan(0)
  })

  it('changes nothing when run again on the healthy cluster', async () => {
    const again = await runScript('scripts/bringup.mjs', [
      '--inventory',
      cluster.inventory.file,
      '--env-output',
      cluster.inventory.envFile,
      '--json',
    ])
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    const records = jsonLines(again.stdout)
    const changed = records.filter((r) => r.event === 'step' && r.status !== 'ok')
    expect(changed).toEqual([])
    expect(records.at(-1)).toMatchObject({ event: 'info', step: 'done', changed_steps: 0 })
  })

  it('reports in status --json what the monitor itself reports', async () => {
    const { status } = await statusJson()
    const monitorVm = findVm(cluster.lab, 'vm3')
    const argv = vmCommand(monitorVm, ['pg_autoctl', 'show', 'state', '--pgdata', '/var/lib/postgresql/pgaf/monitor', '--json'], {
      user: 'postgres',
      env: { PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin' },
    })
    /** @type {MonitorStateNode[]} */
    const fromMonitor = JSON.parse((await $({ quiet: true })`${argv}`).stdout)
    /** @param {Array<Omit<StatusNode, 'role'>>} nodes */
    const project = (nodes) =>
      nodes.map((n) => ({
        name: n.name,
        host: n.host,
        port: n.port,
        state: n.reported_state,
        assigned: n.assigned_state,
        health: n.health,
        tli: n.tli,
      }))
    expect(project(status.nodes)).toEqual(
      project(
        fromMonitor.map((n) => ({
          name: n.nodename,
          host: n.nodehost,
          port: n.nodeport,
          reported_state: n.current_group_state,
          assigned_state: n.assigned_group_state,
          health: n.health,
          tli: n.reported_tli,
        })),
      ),
    )
  })

  it("moves the primary off the monitor's host when it finds it there, then changes nothing", async () => {
    const primaryName = async () => (await statusJson()).status.nodes.find((n) => n.role === 'primary')?.name
    const to3 = await runScript('scripts/switchover.mjs', ['--inventory', cluster.inventory.file, '--to', 'node3'])
    expect(to3.code, to3.stderr).toBe(0)
    expect(await primaryName()).toBe('node3')

    const rerun = () =>
      runScript('scripts/bringup.mjs', ['--inventory', cluster.inventory.file, '--env-output', cluster.inventory.envFile, '--json'])
    const startedAt = Date.now()
    const moved = await rerun()
    process.stdout.write(`bring-up moving the primary off VM3: ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`)
    expect(moved.code, moved.stderr).toBe(0)
    const changed = jsonLines(moved.stdout).filter((r) => r.event === 'step' && r.status !== 'ok')
    expect(changed.map((r) => r.step)).toEqual(["primary off the monitor's host"])
    // lab.yml: node1 and node2 at pg_auto_failover's default 50, node3 (with the monitor) at 10.
    expect(changed[0].detail).toMatch(
      /^primary node3 \(candidate priority 10\) shares the monitor's host [\d.]+; node1 has 50: promoted node1, all healthy$/,
    )
    const { code, status } = await statusJson()
    expect(code).toBe(0)
    expect(status.nodes.find((n) => n.role === 'primary')?.name).toBe('node1')

    const again = await rerun()
    expect(again.code, again.stderr).toBe(0)
    expect(jsonLines(again.stdout).filter((r) => r.event === 'step' && r.status !== 'ok')).toEqual([])
    expect(jsonLines(again.stdout).find((r) => r.step === "primary off the monitor's host")?.detail).toMatch(
      /^primary node1, not on the monitor's host/,
    )
  })

  it('keeps the application password out of everything it prints', async () => {
    const { password } = parseDatabaseUrl(cluster.databaseUrl)
    expect(password.length).toBeGreaterThan(15)
    expect(cluster.bringup.stdout + cluster.bringup.stderr).not.toContain(password)
    const status = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file])
    expect(status.stdout + status.stderr).not.toContain(password)
  })
})
