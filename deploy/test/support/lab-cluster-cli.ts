// A lab cluster for the TypeScript suites (packages/db-ha, apps/api), each on a lab of its own
// (distinct name and subnet), driven through the deploy CLIs exactly as an operator runs them.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const deployDir = path.resolve(import.meta.dirname, '../..')
const script = (relative: string) => path.join(deployDir, relative)

export interface LabCluster {
  name: string
  prefix: string
  dir: string
  inventoryFile: string
  databaseUrl: string
  password: string
  /** host,port lists of the DSN, in DSN order. */
  addresses: string[]
}

export interface NodeStatus {
  name: string
  host: string
  port: number
  role: string
  health: number
}

export async function startLabCluster(name: string, subnet: string, { connectTimeout = 3 } = {}): Promise<LabCluster> {
  const prefix = subnet.split('.').slice(0, 3).join('.')
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `pgha-${name}-`))
  const inventoryFile = path.join(dir, 'inventory.yml')
  await fs.writeFile(inventoryFile, `all:
  vars: { formation: default, dbname: app, app_user: app, failover_profile: fast, runtime: native, transport: netns,
          lab_name: ${name}, network_cidr: ${subnet}, connect_timeout: ${connectTimeout} }
  children:
    monitor: { hosts: { vm3-monitor: { ansible_host: ${prefix}.13, pg_port: 5431, lab_vm: vm3 } } }
    nodes:
      hosts:
        vm1: { ansible_host: ${prefix}.11, node_name: node1, lab_vm: vm1 }
        vm2: { ansible_host: ${prefix}.12, node_name: node2, lab_vm: vm2 }
        vm3: { ansible_host: ${prefix}.13, node_name: node3, lab_vm: vm3 }
`)
  const envFile = path.join(dir, 'app.env')
  await run(process.execPath, [script('scripts/lab-up.mjs'), '--inventory', inventoryFile, '--env-output', envFile, '--no-api', '--yes'], { maxBuffer: 16 << 20 })
  const env = await fs.readFile(envFile, 'utf8')
  const databaseUrl = /^DATABASE_URL='(.*)'$/m.exec(env)?.[1]
  if (!databaseUrl) throw new Error(`bring-up wrote no DATABASE_URL to ${envFile}`)
  const password = decodeURIComponent(/^postgresql:\/\/[^:]+:([^@]+)@/.exec(databaseUrl)?.[1] ?? '')
  return { name, prefix, dir, inventoryFile, databaseUrl, password, addresses: [11, 12, 13].map((n) => `${prefix}.${n}`) }
}

export async function stopLabCluster(cluster: LabCluster | undefined, name: string) {
  await run(process.execPath, [script('lab/cli.mjs'), 'down', '--name', name])
  if (cluster) await fs.rm(cluster.dir, { recursive: true, force: true })
}

export async function labFault(cluster: LabCluster, fault: 'power-off' | 'partition' | 'heal' | 'restart', vm: string) {
  await run(process.execPath, [script('lab/cli.mjs'), fault, vm, '--name', cluster.name])
}

/** SQL as the postgres superuser on a VM's data node (over its local socket, as an operator would). */
export async function superuserSql(cluster: LabCluster, vm: string, sql: string): Promise<string> {
  const { stdout } = await run(process.execPath, [
    script('lab/cli.mjs'), 'exec', vm, '--name', cluster.name, '--user', 'postgres', '--',
    'psql', '-h', '/var/run/postgresql', '-p', '5432', '-d', 'app', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql,
  ])
  return stdout.trim()
}

/** A planned switchover, to a named node when given. */
export async function switchover(cluster: LabCluster, to?: string) {
  await run(process.execPath, [script('scripts/switchover.mjs'), '--inventory', cluster.inventoryFile, ...(to ? ['--to', to] : [])])
}

export async function clusterStatus(cluster: LabCluster): Promise<{ healthy: boolean; nodes: NodeStatus[] }> {
  const out = await run(process.execPath, [script('scripts/status.mjs'), '--inventory', cluster.inventoryFile, '--json']).catch((error: { stdout?: string }) => error)
  return JSON.parse(out.stdout ?? '{}')
}

export async function primaryOf(cluster: LabCluster): Promise<NodeStatus> {
  const { nodes } = await clusterStatus(cluster)
  const primary = nodes.find((n) => n.role === 'primary')
  if (!primary) throw new Error('no primary')
  return primary
}

export const vmOf = (cluster: LabCluster, address: string) => `vm${cluster.addresses.indexOf(address) + 1}`

export async function until<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => null)
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
