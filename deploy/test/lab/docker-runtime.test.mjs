// Runtime "docker" for real: a 4-VM lab whose VMs each run their own dockerd (`lab up --docker`)
// with the image `npm run image` builds loaded, reached over ssh only, as the users' VMs are.
// Bad input first (an image the VMs lack, a VM without a daemon: nothing written anywhere), then
// bring-up, a no-op re-run, switchover, maintenance, a container crash (also one that leaves pid
// files naming live processes), a VM power-off and restart, rejoin of a wrecked standby, the
// volume-on-PGDATA layout failing and the shipped one working (add-node, resuming the half-made
// project), teardown and a lab down that leaves no daemon, container, volume or mount.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { DOCKERD_SERVICE, vmDocker, vmDockerAnswers } from '../../lab/docker-engine.mjs'
import { findVm, resolveLabConfig } from '../../lab/lab-config.mjs'
import { labDown, labUp } from '../../lab/lab.mjs'
import { injectFault } from '../../lab/faults.mjs'
import { servicePid, startService, stopService } from '../../lab/services.mjs'
import { labSshPaths } from '../../lab/sshd.mjs'
import { IMAGE_ALIAS } from '../../image/image-spec.mjs'
import { waitFor } from '../../lib/wait-for.mjs'
import { jsonLines, labImageArchive, parseDatabaseUrl, psql } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'
import { sshLabVars } from '../support/ssh-lab-inventory.mjs'

const LAB = { name: 'pghdk', subnet: '10.213.70.0/24', vms: 4 }
const lab = resolveLabConfig(LAB)
const keys = labSshPaths(lab)
const prefix = LAB.subnet.split('.').slice(0, 3).join('.')
const PGDATA = '/var/lib/postgres/pgaf'

/**
 * status.mjs --json, the fields this suite reads.
 * @typedef {{name: string, host: string, port: number, role: string, health: number, reported_state: string, seconds_since_report: number}} StatusNode
 * @typedef {{healthy: boolean, nodes: StatusNode[]}} StatusView
 */

/** @type {string} */
let dir
/** @type {string} */
let inventoryFile
/** @type {string} */
let databaseUrl = ''

/**
 * The lab's VMs over ssh with runtime docker, laid out as lab-docker.yml (VM3: the monitor on
 * 5432 and node3 on 5433); vm4 joins as node4 when `withNode4`.
 * @param {string} name @param {{vars?: Record<string, unknown>, withNode4?: boolean}} [options]
 */
async function writeInventory(name, { vars = {}, withNode4 = false } = {}) {
  /** @type {Record<string, object>} */
  const nodes = {
    vm1: { ansible_host: `${prefix}.11`, node_name: 'node1' },
    vm2: { ansible_host: `${prefix}.12`, node_name: 'node2' },
    vm3: { ansible_host: `${prefix}.13`, pg_port: 5433, node_name: 'node3', candidate_priority: 10 },
  }
  if (withNode4) nodes.vm4 = { ansible_host: `${prefix}.14`, node_name: 'node4' }
  const doc = {
    all: {
      vars: sshLabVars(LAB.subnet, keys, { runtime: 'docker', docker_image: IMAGE_ALIAS, ...vars }),
      children: { monitor: { hosts: { 'vm3-monitor': { ansible_host: `${prefix}.13`, pg_port: 5432 } } }, nodes: { hosts: nodes } },
    },
  }
  const file = path.join(dir, `${name}.yml`)
  await fs.writeFile(file, YAML.stringify(doc))
  return file
}

/** @param {string} script @param {string} file @param {...string} args */
const run = (script, file, ...args) => runScript(`scripts/${script}.mjs`, ['--inventory', file, ...args], { timeoutMs: 600_000 })
/** @param {string} file */
const bringup = (file) => run('bringup', file, '--env-output', path.join(dir, 'app.env'), '--json')
/** @returns {Promise<StatusView>} */
async function status() {
  const out = await run('status', inventoryFile, '--json')
  if (!out.stdout.trim()) throw new Error(`status.mjs printed nothing (exit ${out.code}): ${out.stderr}`)
  return JSON.parse(out.stdout)
}
/** @param {StatusView} view @param {string} name */
const nodeOf = (view, name) => {
  const node = view.nodes.find((n) => n.name === name)
  if (!node) throw new Error(`status lists no ${name}`)
  return node
}
/** @param {StatusView} view */
const primaryName = (view) => view.nodes.find((n) => n.role === 'primary')?.name
/** Healthy, one primary, every other node a secondary. @param {number} count @param {number} [timeoutMs] */
const settled = (count, timeoutMs = 120_000) =>
  waitFor(
    async () => {
      const view = await status()
      const ok =
        view.healthy &&
        view.nodes.length === count &&
        view.nodes.filter((n) => n.role === 'primary').length === 1 &&
        view.nodes.filter((n) => n.reported_state === 'secondary').length === count - 1
      return ok ? view : null
    },
    { timeoutMs, what: `${count} nodes settled, one primary` },
  )
/**
 * Waits until the monitor has a report from `name`'s keeper made after `since` (epoch ms) and
 * lists it as a healthy secondary again. @param {number} since @param {string} name
 */
const reportedSince = (since, name) => {
  /** @type {StatusNode | undefined} */
  let last
  return waitFor(
    async () => {
      // The monitor computed seconds_since_report after `asked`: the report came no earlier.
      const asked = Date.now()
      const node = nodeOf(await status(), name)
      last = node
      return asked - node.seconds_since_report * 1000 > since && node.health === 1 && node.reported_state === 'secondary' ? node : null
    },
    {
      timeoutMs: 60_000,
      what: `a report from ${name}'s keeper, a healthy secondary`,
      lastSeen: () =>
        last ? `${last.reported_state}, health ${last.health}, last report ${last.seconds_since_report.toFixed(0)} s ago` : '',
    },
  )
}
/** The lab VM of a node's address. @param {StatusNode} node */
const vmOfNode = (node) => {
  const vm = lab.vms.find((candidate) => candidate.address === node.host)
  if (!vm) throw new Error(`${node.host} is no VM of lab ${lab.name}`)
  return vm
}
/** @param {StatusNode} node */
const containerOf = (node) => `pgha-node-${node.port}`
/** Every VM's compose directory (/opt/pg-ha-kit inside it), seen from this host. */
const composeProjects = async () =>
  (await Promise.all(lab.vms.map(async (vm) => (await fs.readdir(vm.mounts['/opt/pg-ha-kit'])).map((p) => `${vm.vm}:${p}`)))).flat()
/** Through the application DSN; what psql said on stderr ('' when it succeeded). @param {string} sql */
const write = async (sql) => {
  const out = await psql(databaseUrl, sql)
  return { ...out, stderr: out.ok ? out.stderr : `failed: ${out.stderr}` }
}
/** Straight to one node, as the application user. @param {StatusNode} node @param {string} sql */
const onNode = (node, sql) => {
  const { dbname, user, password } = parseDatabaseUrl(databaseUrl)
  return psql(`host=${node.host} port=${node.port} dbname=${dbname} user=${user} password=${password} connect_timeout=3`, sql)
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-pghdk-'))
  await labUp(lab, { sshd: true, docker: true, images: [await labImageArchive()] })
  inventoryFile = await writeInventory('cluster')
}, 900_000)

afterAll(async () => {
  await labDown(lab)
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

describe('runtime docker on a dockerd per VM, over ssh', () => {
  it('refuses an image the VMs lack, naming the host, and writes nothing', async () => {
    const out = await bringup(await writeInventory('missing-image', { vars: { docker_image: 'pg-ha-kit/not-built:none' } }))
    expect(out.code).not.toBe(0)
    expect(out.stderr).toMatch(
      /the image pg-ha-kit\/not-built:none \(docker_image\) is not on vm3-monitor \(10\.213\.70\.13\).*docker load/,
    )
    expect(await composeProjects()).toEqual([])
  })

  it('refuses a VM whose daemon is down, naming it, and writes nothing', async () => {
    const vm2 = findVm(lab, 'vm2')
    await stopService(vm2, DOCKERD_SERVICE)
    try {
      const out = await bringup(inventoryFile)
      expect(out.code).not.toBe(0)
      expect(out.stderr).toMatch(/no Docker daemon answers on vm2 \(10\.213\.70\.12\).*Start it there/)
      expect(await composeProjects()).toEqual([])
    } finally {
      await startService(vm2, DOCKERD_SERVICE)
      await waitFor(() => vmDockerAnswers(vm2), { timeoutMs: 60_000, what: 'dockerd on vm2' })
    }
  })

  it('brings the cluster up over ssh: a container of the image per host, the volume on PGDATA’s parent', async () => {
    const started = Date.now()
    const out = await bringup(inventoryFile)
    expect(out.code, out.stderr).toBe(0)
    process.stdout.write(`bring-up on runtime docker over ssh: ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
    databaseUrl = /^DATABASE_URL='(.*)'$/m.exec(await fs.readFile(path.join(dir, 'app.env'), 'utf8'))?.[1] ?? ''
    const view = await settled(3)
    expect(primaryName(view)).toBe('node1')
    for (const vmName of ['vm1', 'vm2', 'vm3']) {
      const ps = await vmDocker(findVm(lab, vmName), ['ps', '--format', '{{.Names}} {{.Image}}'])
      expect(ps.stdout.trim().split('\n').sort()).toEqual(
        vmName === 'vm3' ? [`pgha-monitor-5432 ${IMAGE_ALIAS}`, `pgha-node-5433 ${IMAGE_ALIAS}`] : [`pgha-node-5432 ${IMAGE_ALIAS}`],
      )
    }
    const mounts = await vmDocker(findVm(lab, 'vm1'), [
      'inspect',
      '--format',
      '{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}',
      'pgha-node-5432',
    ])
    expect(mounts.stdout).toMatch(/volume:\/var\/lib\/postgres /)
    expect(mounts.stdout).not.toContain(`:${PGDATA} `)
    expect((await write('create table orders(id int primary key); insert into orders select generate_series(1, 100)')).stderr).toBe('')
  })

  it('changes nothing when run again', async () => {
    const out = await bringup(inventoryFile)
    expect(out.code, out.stderr).toBe(0)
    expect(
      jsonLines(out.stdout)
        .filter((e) => e.status === 'changed')
        .map((e) => e.step),
    ).toEqual([])
  })

  it('switches over and puts a node in and out of maintenance', async () => {
    const out = await run('switchover', inventoryFile, '--to', 'node2')
    expect(out.code, out.stderr).toBe(0)
    expect(primaryName(await settled(3))).toBe('node2')
    const enable = await run('maintenance', inventoryFile, '--node', 'node1', '--enable')
    expect(enable.code, enable.stderr).toBe(0)
    expect(nodeOf(await status(), 'node1').reported_state).toBe('maintenance')
    const disable = await run('maintenance', inventoryFile, '--node', 'node1', '--disable')
    expect(disable.code, disable.stderr).toBe(0)
    expect(nodeOf(await settled(3), 'node1').reported_state).toBe('secondary')
  })

  it('a crashed container comes back by its restart policy and its keeper reports again', async () => {
    const node1 = nodeOf(await status(), 'node1')
    const vm = vmOfNode(node1)
    await injectFault(lab, 'docker-kill', vm.vm, { container: containerOf(node1) })
    await waitFor(async () => Number((await vmDocker(vm, ['inspect', '--format', '{{.RestartCount}}', containerOf(node1)])).stdout) >= 1, {
      timeoutMs: 30_000,
      what: `${containerOf(node1)} on ${vm.vm} restarted`,
    })
    // The monitor still lists node1 as a secondary right after the kill: only a report from the
    // restarted keeper shows it came back.
    await reportedSince(Date.now(), 'node1')
  })

  it('a restarted container starts afresh when its old pid files name live processes', async () => {
    const node1 = nodeOf(await status(), 'node1')
    const vm = vmOfNode(node1)
    const container = containerOf(node1)
    const ids = await vmDocker(vm, ['exec', container, 'sh', '-c', 'echo "$(id -u):$(id -g)"'])
    expect(ids.stdout.trim(), ids.stderr).toMatch(/^\d+:\d+$/)
    const stopped = await vmDocker(vm, ['stop', container])
    expect(stopped.exitCode, stopped.stderr).toBe(0)
    // What a crash leaves in the container's writable layer, owned by its user and each naming
    // pid 1 (tini, alive in every container): pg_autoctl's pid file and Postgres' socket lock file.
    const upper = (await vmDocker(vm, ['inspect', '--format', '{{.GraphDriver.Data.UpperDir}}', container])).stdout.trim()
    expect(upper).toMatch(/^\/var\/lib\/docker\/overlay2\/[^/]+\/diff$/)
    const layer = path.join(vm.mounts['/var/lib/docker'], path.relative('/var/lib/docker', upper))
    // Both directories are in the layer already (the running node wrote to them), so the files
    // below change nothing else about them.
    for (const dir of ['tmp', 'run/postgresql']) await fs.access(path.join(layer, dir))
    const pidFile = path.join(layer, 'tmp/pg_autoctl/var/lib/postgres/pgaf/pg_autoctl.pid')
    const lockFile = path.join(layer, `run/postgresql/.s.PGSQL.${node1.port}.lock`)
    await fs.mkdir(path.dirname(pidFile), { recursive: true })
    await Promise.all([pidFile, lockFile].map((file) => fs.writeFile(file, '1\n', { mode: 0o600 })))
    await $`chown -R ${ids.stdout.trim()} ${path.join(layer, 'tmp/pg_autoctl')} ${lockFile}`
    const startedAt = Date.now()
    const started = await vmDocker(vm, ['start', container])
    expect(started.exitCode, started.stderr).toBe(0)
    await reportedSince(startedAt, 'node1')
  })

  it('a powered-off primary VM fails over; restarted, its dockerd brings the container back and it rejoins', async () => {
    const view = await status()
    const primary = nodeOf(view, primaryName(view) ?? '')
    const vm = vmOfNode(primary)
    const before = (await vmDocker(vm, ['inspect', '--format', '{{.State.Pid}}', containerOf(primary)])).stdout.trim()
    await injectFault(lab, 'power-off', vm.vm)
    /** @type {StatusView | undefined} */
    let seen
    const failedOver = await waitFor(
      async () => {
        seen = await status()
        const name = primaryName(seen)
        return name && name !== primary.name ? name : null
      },
      {
        timeoutMs: 120_000,
        what: `a primary other than ${primary.name}`,
        lastSeen: () => (seen?.nodes ?? []).map((n) => `${n.name} ${n.reported_state} health ${n.health}`).join(', '),
      },
    )
    expect((await write('insert into orders select generate_series(101, 200)')).stderr).toBe('')
    await injectFault(lab, 'restart', vm.vm)
    const back = await settled(3, 180_000)
    expect(primaryName(back)).toBe(failedOver)
    expect(nodeOf(back, primary.name).reported_state).toBe('secondary')
    expect((await vmDocker(vm, ['inspect', '--format', '{{.State.Pid}}', containerOf(primary)])).stdout.trim()).not.toBe(before)
    const rows = await onNode(primary, 'select count(*) from orders')
    expect(rows.stdout).toBe('200')
  })

  it('rejoin rebuilds a standby whose data directory is wrecked inside its volume', async () => {
    const view = await status()
    const standby = view.nodes.find((n) => n.role !== 'primary' && n.name !== 'node3')
    if (!standby) throw new Error('no standby off VM3')
    const vm = vmOfNode(standby)
    const volume = `${containerOf(standby)}-data`
    const data = path.join(vm.mounts['/var/lib/docker'], 'volumes', volume, '_data', 'pgaf')
    await vmDocker(vm, ['stop', containerOf(standby)])
    await $`rm -rf ${path.join(data, 'pg_wal')} ${path.join(data, 'global/pg_control')}`
    await vmDocker(vm, ['start', containerOf(standby)])
    expect((await write('insert into orders select generate_series(201, 300)')).stderr).toBe('')
    await waitFor(async () => nodeOf(await status(), standby.name).health === 0, { timeoutMs: 60_000, what: `${standby.name} failing` })
    const out = await run('rejoin', inventoryFile, '--node', standby.name, '--yes', '--json')
    expect(out.code, out.stderr).toBe(0)
    const rebuilt = nodeOf(await settled(3), standby.name)
    expect(rebuilt.reported_state).toBe('secondary')
    const rows = await onNode(rebuilt, 'select count(*), pg_is_in_recovery() from orders')
    expect(rows.stdout).toBe('300|t')
  })

  it('with the volume on PGDATA itself a new standby fails ("Device or resource busy"); the shipped layout then resumes it', async () => {
    // The same file (its secrets file beside it), now listing node4.
    const withNode4 = await writeInventory('cluster', { withNode4: true })
    const vm4 = findVm(lab, 'vm4')
    const project = path.join(vm4.mounts['/opt/pg-ha-kit'], 'pgha-node-5432')
    await fs.mkdir(project, { recursive: true, mode: 0o700 })
    // docker-compose merges docker-compose.override.yml from the project directory.
    const override = path.join(project, 'docker-compose.override.yml')
    await fs.writeFile(
      override,
      YAML.stringify({ services: { node: { volumes: [`pgdata-direct:${PGDATA}`] } }, volumes: { 'pgdata-direct': {} } }),
    )
    const wrong = await run('add-node', withNode4, '--node', 'node4', '--env-output', path.join(dir, 'app.env'))
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toMatch(/pg_autoctl create failed in pgha-node-5432 on vm4 .*Device or resource busy/)

    await fs.rm(override)
    const right = await run('add-node', withNode4, '--node', 'node4', '--env-output', path.join(dir, 'app.env'), '--json')
    expect(right.code, right.stderr).toBe(0)
    const node4 = nodeOf(await settled(4), 'node4')
    const rows = await onNode(node4, 'select count(*), pg_is_in_recovery() from orders')
    expect(rows.stdout).toBe('300|t')
    // The operator's own volume: no inventory names it, so teardown would not remove it.
    expect((await vmDocker(vm4, ['volume', 'rm', 'pgha-node-5432_pgdata-direct'])).exitCode).toBe(0)
  })

  it('tears the cluster down, then lab down leaves no daemon, container, volume or mount', async () => {
    const out = await run('teardown', inventoryFile, '--yes')
    expect(out.code, out.stderr).toBe(0)
    for (const vm of lab.vms) {
      const left = await vmDocker(vm, ['ps', '--all', '--quiet'])
      expect(left.stdout.trim(), vm.vm).toBe('')
      const volumes = await vmDocker(vm, ['volume', 'ls', '--quiet', '--filter', 'name=pgha-'])
      expect(volumes.stdout.trim(), vm.vm).toBe('')
    }
    const daemons = (await Promise.all(lab.vms.map((vm) => servicePid(vm, DOCKERD_SERVICE)))).filter((pid) => pid !== null)
    expect(daemons).toHaveLength(lab.vms.length)
    await labDown(lab)
    for (const pid of daemons) await expect(fs.access(`/proc/${pid}`)).rejects.toThrow()
    expect((await fs.readFile('/proc/mounts', 'utf8')).split('\n').filter((line) => line.includes(lab.dir))).toEqual([])
    await expect(fs.access(lab.dir)).rejects.toThrow()
  })
})
