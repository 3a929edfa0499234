// A lab + cluster of a test's own (distinct lab name and subnet), so suites never share
// namespaces, and a cleanup that leaves nothing behind.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { $ } from 'zx'
import { resolveLabConfig } from '../../lab/lab-config.mjs'
import { labDown, labUp } from '../../lab/lab.mjs'
import { deployDir, runScript } from './run-script.mjs'

/**
 * Writes an inventory for lab `name` on `subnet` (a copy of deploy/inventory/lab.yml).
 * @param {{name: string, subnet: string, profile?: string, hostVars?: Record<string, object>}} options
 *   hostVars: extra variables per inventory host name
 */
export async function writeLabInventory({ name, subnet, profile = 'fast', hostVars = {} }) {
  const doc = YAML.parse(await fs.readFile(path.join(deployDir, 'inventory/lab.yml'), 'utf8'))
  const prefix = subnet.split('.').slice(0, 3).join('.')
  doc.all.vars.lab_name = name
  doc.all.vars.network_cidr = subnet
  doc.all.vars.failover_profile = profile
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
 * Lab up and bring-up from nothing; returns what a test needs to talk to the cluster.
 * vms: how many VMs the lab has (default 3); extra ones stay free for a test to add nodes on.
 * @param {{name: string, subnet: string, profile?: string, hostVars?: Record<string, object>, vms?: number}} options
 */
export async function startLabCluster({ name, subnet, profile = 'fast', hostVars, vms }) {
  const lab = resolveLabConfig({ name, subnet, vms })
  await labUp(lab)
  const inventory = await writeLabInventory({ name, subnet, profile, hostVars })
  const startedAt = Date.now()
  const bringup = await runScript('scripts/bringup.mjs', ['--inventory', inventory.file, '--env-output', inventory.envFile, '--json'])
  const bringupMs = Date.now() - startedAt
  if (bringup.code !== 0) throw new Error(`bring-up failed (exit ${bringup.code}): ${bringup.stderr}`)
  const env = await fs.readFile(inventory.envFile, 'utf8')
  const databaseUrl = /^DATABASE_URL='(.*)'$/m.exec(env)?.[1]
  if (!databaseUrl) throw new Error(`no DATABASE_URL in ${inventory.envFile}`)
  return { lab, inventory, bringup, bringupMs, databaseUrl }
}

export async function stopLabCluster(cluster) {
  if (!cluster) return
  await labDown(cluster.lab)
  await fs.rm(cluster.inventory.dir, { recursive: true, force: true })
}

/** psql from the host (libpq itself), so multi-host DSN behaviour is libpq's own. */
export async function psql(dsn, sql, { timeoutMs = 20_000 } = {}) {
  const out = await $({ quiet: true, nothrow: true, timeout: timeoutMs })`psql ${dsn} -X -q -At -v ON_ERROR_STOP=1 -c ${sql}`
  return { ok: out.exitCode === 0, stdout: out.stdout.trim(), stderr: out.stderr.trim() }
}

/** A keyword DSN straight to one node (by address; its port from the DSN) as the application user. */
export function nodeDsn(databaseUrl, address) {
  const { dbname, user, password } = parseDatabaseUrl(databaseUrl)
  return `host=${address} port=${nodePort(databaseUrl, address)} dbname=${dbname} user=${user} password=${password} connect_timeout=3`
}

/** The Postgres port of the data node at `address`, as the DSN lists it. */
export function nodePort(databaseUrl, address) {
  const entry = parseDatabaseUrl(databaseUrl).hosts.find((hostPort) => hostPort.startsWith(`${address}:`))
  if (!entry) throw new Error(`${address} is not a data node of the DSN`)
  return Number(entry.slice(address.length + 1))
}

/** The parts of the multi-host URI bring-up writes (WHATWG URL cannot parse host lists). */
export function parseDatabaseUrl(databaseUrl) {
  const match = /^postgresql:\/\/([^:@]+):([^@]+)@([^/]+)\/([^?]+)\?(.*)$/.exec(databaseUrl)
  if (!match) throw new Error('DATABASE_URL is not a postgresql:// URI with user, password, hosts and parameters')
  const [, user, password, hosts, dbname, query] = match
  return {
    user: decodeURIComponent(user),
    password: decodeURIComponent(password),
    hosts: hosts.split(','),
    dbname: decodeURIComponent(dbname),
    params: Object.fromEntries(new URLSearchParams(query)),
  }
}

export function jsonLines(stdout) {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line))
}
