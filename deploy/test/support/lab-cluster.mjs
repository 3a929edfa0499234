// A lab + cluster of a test's own (distinct lab name and subnet), so suites never share
// namespaces, and a cleanup that leaves nothing behind; the operator's view of it (status,
// switchover, faults, superuser SQL) for suites in this and other packages.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { $ } from 'zx'
import { findVm, resolveLabConfig } from '../../lab/lab-config.mjs'
import { injectFault } from '../../lab/faults.mjs'
import { labDown, labUp } from '../../lab/lab.mjs'
import { deployDir, runScript } from './run-script.mjs'

/** @typedef {'native' | 'docker'} LabRuntime */

/**
 * Writes an inventory for lab `name` on `subnet` (a copy of deploy/inventory/lab.yml, or
 * lab-docker.yml for runtime docker).
 * @param {{name: string, subnet: string, profile?: string, hostVars?: Record<string, object>, vars?: Record<string, unknown>, runtime?: LabRuntime}} options
 *   hostVars: extra variables per inventory host name; vars: extra cluster variables (all.vars), such as ssl
 */
export async function writeLabInventory({ name, subnet, profile = 'fast', hostVars = {}, vars = {}, runtime = 'native' }) {
  const doc = YAML.parse(
    await fs.readFile(path.join(deployDir, `inventory/${runtime === 'docker' ? 'lab-docker.yml' : 'lab.yml'}`), 'utf8'),
  )
  const prefix = subnet.split('.').slice(0, 3).join('.')
  doc.all.vars.lab_name = name
  doc.all.vars.network_cidr = subnet
  doc.all.vars.failover_profile = profile
  Object.assign(doc.all.vars, vars)
  for (const group of Object.values(doc.all.children)) {
    for (const [hostName, host] of Object.entries(group.hosts)) {
      host.ansible_host = host.ansible_host.replace(/^\d+\.\d+\.\d+/, prefix)
      Object.assign(host, hostVars[hostName])
    }
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `pgha-${name}-`))
  const file = path.join(dir, 'inventory.yml')
  await fs.writeFile(file, YAML.stringify(doc))
  return { dir, file, envFile: path.join(dir, 'app.env') }
}

/**
 * @typedef {object} LabCluster a lab and the cluster brought up on it (plain data: a vitest
 *   globalSetup hands it to test files)
 * @property {import('../../lab/lab.mjs').Lab} lab
 * @property {{dir: string, file: string, envFile: string}} inventory
 * @property {{code: number | null, stdout: string, stderr: string}} bringup bring-up's output
 * @property {number} bringupMs
 * @property {string} databaseUrl the application's multi-host DSN
 * @property {string} password the application user's password
 * @property {string[]} addresses the data nodes' addresses, in DSN order
 */

/**
 * The image npm run image builds, as a `docker save` archive: built once per machine, a later
 * call only checks its inputs. @returns {Promise<string>} the archive
 */
export async function labImageArchive() {
  const out = await runScript('image/build-image.mjs', [], { timeoutMs: 900_000 })
  const archive = /^archive (.+)$/m.exec(out.stdout)?.[1]
  if (out.code !== 0 || !archive) throw new Error(`build-image.mjs failed (exit ${out.code}): ${out.stderr}`)
  return archive
}

/**
 * Lab up and bring-up from nothing; returns what a test needs to talk to the cluster. A failed
 * start leaves nothing behind.
 * vms: how many VMs the lab has (default 3); extra ones stay free for a test to add nodes on.
 * vars: extra cluster variables (all.vars) of the inventory, such as ssl.
 * runtime docker: a dockerd in every VM with the image loaded, and lab-docker.yml's layout.
 * @param {{name: string, subnet: string, profile?: string, hostVars?: Record<string, object>, vars?: Record<string, unknown>, vms?: number, runtime?: LabRuntime}} options
 * @returns {Promise<LabCluster>}
 */
export async function startLabCluster({ name, subnet, profile = 'fast', hostVars, vars, vms, runtime = 'native' }) {
  const lab = resolveLabConfig({ name, subnet, vms })
  /** @type {{dir: string, file: string, envFile: string} | undefined} */
  let inventory
  try {
    await labUp(lab, runtime === 'docker' ? { docker: true, images: [await labImageArchive()] } : {})
    inventory = await writeLabInventory({ name, subnet, profile, hostVars, vars, runtime })
    const startedAt = Date.now()
    const bringup = await runScript('scripts/bringup.mjs', ['--inventory', inventory.file, '--env-output', inventory.envFile, '--json'])
    const bringupMs = Date.now() - startedAt
    if (bringup.code !== 0) throw new Error(`bring-up failed (exit ${bringup.code}): ${bringup.stderr}`)
    const env = await fs.readFile(inventory.envFile, 'utf8')
    const databaseUrl = /^DATABASE_URL='(.*)'$/m.exec(env)?.[1]
    if (!databaseUrl) throw new Error(`no DATABASE_URL in ${inventory.envFile}`)
    const { password, hosts } = parseDatabaseUrl(databaseUrl)
    const addresses = hosts.map((hostPort) => hostPort.slice(0, hostPort.lastIndexOf(':')))
    return { lab, inventory, bringup, bringupMs, databaseUrl, password, addresses }
  } catch (error) {
    await labDown(lab)
    if (inventory) await fs.rm(inventory.dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Adds the group `backup` (the repository host, on a VM of the lab) and backup settings to the
 * cluster's inventory.
 * @param {LabCluster} cluster @param {string} vm @param {Record<string, unknown>} [vars] backup_* settings (all.vars)
 */
export async function addBackupHost(cluster, vm, vars = {}) {
  const doc = YAML.parse(await fs.readFile(cluster.inventory.file, 'utf8'))
  doc.all.children.backup = { hosts: { [`${vm}-backup`]: { ansible_host: findVm(cluster.lab, vm).address, lab_vm: vm } } }
  Object.assign(doc.all.vars, vars)
  await fs.writeFile(cluster.inventory.file, YAML.stringify(doc))
}

/**
 * Tears down a cluster's lab; with no cluster (its start failed or was interrupted), the lab
 * named in `fallback`.
 * @param {LabCluster | undefined} cluster @param {{name: string, subnet?: string}} [fallback]
 */
export async function stopLabCluster(cluster, fallback) {
  if (!cluster) {
    if (fallback) await labDown(resolveLabConfig({ name: fallback.name, subnet: fallback.subnet }))
    return
  }
  await labDown(cluster.lab)
  await fs.rm(cluster.inventory.dir, { recursive: true, force: true })
}

/**
 * A fault of the lab's registry (lab/faults.mjs) on one VM of the cluster's lab.
 * @param {LabCluster} cluster @param {import('../../lab/faults.mjs').FaultName} fault @param {string} vm
 * @param {import('../../lab/faults.mjs').FaultOptions} [options]
 */
export function labFault(cluster, fault, vm, options) {
  return injectFault(cluster.lab, fault, vm, options)
}

/** The lab VM a data node's address belongs to. @param {LabCluster} cluster @param {string} address */
export function vmOf(cluster, address) {
  const vm = cluster.lab.vms.find((candidate) => candidate.address === address)
  if (!vm) throw new Error(`${address} is no VM of lab ${cluster.lab.name}`)
  return vm.vm
}

/**
 * @typedef {object} NodeStatus one data node as status.mjs --json reports it
 * @property {string} name @property {string} host @property {number} port @property {string} role @property {number} health
 */

/**
 * The monitor's view through status.mjs, as an operator reads it (any exit code: an unhealthy
 * cluster is an answer too). @param {LabCluster} cluster
 * @returns {Promise<{healthy: boolean, nodes: NodeStatus[]}>}
 */
export async function clusterStatus(cluster) {
  const out = await runScript('scripts/status.mjs', ['--inventory', cluster.inventory.file, '--json'], { timeoutMs: 60_000 })
  if (!out.stdout.trim()) throw new Error(`status.mjs printed nothing (exit ${out.code}): ${out.stderr}`)
  return JSON.parse(out.stdout)
}

/** @param {LabCluster} cluster @returns {Promise<NodeStatus>} */
export async function primaryOf(cluster) {
  const primary = (await clusterStatus(cluster)).nodes.find((node) => node.role === 'primary')
  if (!primary) throw new Error('the monitor reports no primary')
  return primary
}

/** A planned switchover, to a named node when given. @param {LabCluster} cluster @param {string} [to] */
export async function switchover(cluster, to) {
  const out = await runScript('scripts/switchover.mjs', ['--inventory', cluster.inventory.file, ...(to ? ['--to', to] : [])])
  if (out.code !== 0) throw new Error(`switchover.mjs failed (exit ${out.code}): ${out.stderr}`)
}

/**
 * SQL as the postgres superuser on a VM's data node, over its local socket as an operator would
 * (the node's port from the DSN: on VM3 of the users' layout 5432 is the monitor).
 * @param {LabCluster} cluster @param {string} vm @param {string} sql @returns {Promise<string>}
 */
export async function superuserSql(cluster, vm, sql) {
  const address = findVm(cluster.lab, vm).address
  const port = nodePort(cluster.databaseUrl, address)
  const { dbname } = parseDatabaseUrl(cluster.databaseUrl)
  const out = await runScript(
    'lab/cli.mjs',
    [
      'exec',
      vm,
      '--name',
      cluster.lab.name,
      '--subnet',
      cluster.lab.subnet,
      '--user',
      'postgres',
      '--',
      'psql',
      '-h',
      '/var/run/postgresql',
      '-p',
      String(port),
      '-d',
      dbname,
      '-X',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ],
    { timeoutMs: 60_000 },
  )
  if (out.code !== 0) throw new Error(`psql on ${vm} failed (exit ${out.code}): ${out.stderr.trim()}`)
  return out.stdout.trim()
}

/**
 * psql from the host (libpq itself), so multi-host DSN behaviour is libpq's own.
 * @param {string} dsn @param {string} sql @param {{timeoutMs?: number}} [options]
 */
export async function psql(dsn, sql, { timeoutMs = 20_000 } = {}) {
  const out = await $({ quiet: true, nothrow: true, timeout: timeoutMs })`psql ${dsn} -X -q -At -v ON_ERROR_STOP=1 -c ${sql}`
  return { ok: out.exitCode === 0, stdout: out.stdout.trim(), stderr: out.stderr.trim() }
}

/** A keyword DSN straight to one node (by address; its port from the DSN) as the application user. @param {string} databaseUrl @param {string} address */
export function nodeDsn(databaseUrl, address) {
  const { dbname, user, password } = parseDatabaseUrl(databaseUrl)
  return `host=${address} port=${nodePort(databaseUrl, address)} dbname=${dbname} user=${user} password=${password} connect_timeout=3`
}

/** The Postgres port of the data node at `address`, as the DSN lists it. @param {string} databaseUrl @param {string} address */
export function nodePort(databaseUrl, address) {
  const entry = parseDatabaseUrl(databaseUrl).hosts.find((hostPort) => hostPort.startsWith(`${address}:`))
  if (!entry) throw new Error(`${address} is not a data node of the DSN`)
  return Number(entry.slice(address.length + 1))
}

/** The parts of the multi-host URI bring-up writes (WHATWG URL cannot parse host lists). @param {string} databaseUrl */
export function parseDatabaseUrl(databaseUrl) {
  const match = /^postgresql:\/\/([^:@]+):([^@]+)@([^/]+)\/([^?]+)\?(.*)$/.exec(databaseUrl)
  if (!match) throw new Error('DATABASE_URL is not a postgresql:// URI with user, password, hosts and parameters')
  // Every group of the pattern is required, so a match has them all: the defaults never apply.
  const [, user = '', password = '', hosts = '', dbname = '', query = ''] = match
  return {
    user: decodeURIComponent(user),
    password: decodeURIComponent(password),
    hosts: hosts.split(','),
    dbname: decodeURIComponent(dbname),
    params: Object.fromEntries(new URLSearchParams(query)),
  }
}

/** The JSON lines of a script's `--json` output. @param {string} stdout @returns {any[]} */
export function jsonLines(stdout) {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
}
