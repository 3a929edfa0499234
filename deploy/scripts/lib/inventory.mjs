// Reads an Ansible YAML inventory (groups `monitor` and `nodes`) into the cluster model the
// steps use, and rejects anything wrong with a message naming the file and the key.
// Variable precedence is Ansible's: all.vars < group vars < host vars.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { z } from 'zod'
import { DEFAULT_DOCKER_DIR, DEFAULT_DOCKER_IMAGE, IMAGE } from './compose-env.mjs'
import { errorCode, errorMessage } from '../../lib/error-message.mjs'
import { InputError } from '../../lib/errors.mjs'
import { backupVars, resolveBackup } from './backup-config.mjs'
import { caFilesFor } from './pki.mjs'
import { PROFILE_NAMES, ProfileError, fencingViolations, resolveProfile } from './failover-profiles.mjs'
import { RUNTIMES } from './runtimes/index.mjs'
import { TRANSPORTS } from './transports/index.mjs'

// The names dispatch knows, so validation and dispatch cannot disagree.
const RUNTIME_NAMES = /** @type {import('./runtimes/index.mjs').RuntimeName[]} */ (Object.keys(RUNTIMES))
const TRANSPORT_NAMES = /** @type {import('./transports/index.mjs').TransportName[]} */ (Object.keys(TRANSPORTS))
const SSL_MODES = ['off', 'self-signed', 'ca']

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase SQL identifier (letters, digits, _)')
const port = z.coerce
  .number({ error: 'must be a TCP port' })
  .int('must be an integer')
  .min(1, 'must be 1-65535')
  .max(65535, 'must be 1-65535')
const ipv4 = z
  .string()
  .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, 'must be an IPv4 address')
  .refine((s) => s.split('.').every((o) => Number(o) <= 255), 'must be an IPv4 address')
const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, 'must be an IPv4 CIDR such as 10.0.0.0/24')
const absolutePath = z.string().regex(/^\/[A-Za-z0-9_./-]+$/, 'must be an absolute path')
// A file on this machine: absolute, ~/..., or relative to the inventory's directory.
const localFile = z.string({ error: 'must be a file path' }).regex(/^[^\0\n]+$/, 'must be a file path')
const boolean = z.boolean({ error: 'must be true or false' })
// [registry[:port]/]name[:tag][@sha256:digest] as Docker parses it (a first component is a
// registry only with a dot, a port or as localhost), with a tag or digest so every VM runs one build.
const imageRef = (() => {
  const label = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?'
  const registry = `(?:localhost(?::\\d+)?|${label}(?:\\.${label})+(?::\\d+)?|${label}:\\d+)`
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
  const tag = '[\\w][\\w.-]{0,127}'
  const digest = 'sha256:[a-f0-9]{64}'
  const pattern = new RegExp(`^(?:${registry}/)?${component}(?:/${component})*(?::${tag}(?:@${digest})?|@${digest})$`)
  return z
    .string({ error: 'must be an image reference' })
    .regex(pattern, `must be an image reference with a tag or digest, such as ${DEFAULT_DOCKER_IMAGE}`)
})()
const remoteDir = absolutePath.refine(
  (p) => p !== '/' && !p.split('/').includes('..'),
  'must be an absolute path other than / without ".."',
)

const clusterVars = z.object({
  formation: identifier.default('default'),
  dbname: identifier.default('app'),
  app_user: identifier.default('app'),
  failover_profile: z.enum(PROFILE_NAMES, { error: `must be one of ${PROFILE_NAMES.join(', ')}` }).default('default'),
  // Key by key on top of the profile (failover-profiles.mjs lists the keys); checked against the
  // fencing condition like the shipped profiles.
  failover_settings: z.record(z.string(), z.union([z.number(), z.string()]), { error: 'must be a mapping of setting: value' }).default({}),
  runtime: z.enum(RUNTIME_NAMES, { error: `must be one of ${RUNTIME_NAMES.join(', ')}` }).default('native'),
  transport: z.enum(TRANSPORT_NAMES, { error: `must be one of ${TRANSPORT_NAMES.join(', ')}` }).default('netns'),
  ssl: z.enum(SSL_MODES, { error: `must be one of ${SSL_MODES.join(', ')}` }).default('off'),
  // ssl: ca with a CA of the user's (both, or neither: bring-up then generates one, pki.mjs).
  ssl_ca_cert_file: localFile.optional(),
  ssl_ca_key_file: localFile.optional(),
  network_cidr: cidr,
  connect_timeout: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1 second')
    .max(60, 'must be at most 60 seconds')
    .default(3),
  pg_bindir: absolutePath.default('/usr/lib/postgresql/15/bin'),
  lab_name: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,9}$/, 'must be a lab name (1-10 lowercase letters or digits)')
    .optional(),
  // Transport "ssh": host keys are checked against this file only (StrictHostKeyChecking=yes).
  ssh_known_hosts_file: localFile.default('~/.ssh/known_hosts'),
  // Trust on first use: a host whose key is not in the file yet is accepted and recorded.
  // Convenient for fresh VMs, but the first connection is then open to a man-in-the-middle.
  ssh_accept_new_host_keys: boolean.default(false),
  ssh_connect_timeout: z.coerce
    .number()
    .int('must be an integer')
    .min(1, 'must be 1-300 seconds')
    .max(300, 'must be 1-300 seconds')
    .default(10),
  // Runtime "docker" (deploy/compose): the pg_auto_failover image, and where on each VM the
  // compose projects live (one directory per project).
  docker_image: imageRef.default(DEFAULT_DOCKER_IMAGE),
  docker_dir: remoteDir.default(DEFAULT_DOCKER_DIR),
})

const hostVars = z.object({
  ansible_host: ipv4,
  pg_port: port.default(5432),
  node_name: identifier.optional(),
  pgdata: absolutePath.optional(),
  candidate_priority: z.coerce.number().int('must be an integer').min(0, 'must be 0-100').max(100, 'must be 0-100').optional(),
  replication_quorum: boolean.optional(),
  lab_vm: z
    .string()
    .regex(/^vm\d$/, 'must name a lab VM such as vm1')
    .optional(),
  // Transport "ssh", as Ansible names them (per host, or in all.vars / group vars for every host).
  ansible_user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a user name')
    .default('root'),
  ansible_port: port.default(22),
  ansible_ssh_private_key_file: localFile.optional(),
})

/**
 * A validated inventory: the cluster model the steps use (what parseInventory and loadInventory return).
 * @typedef {ReturnType<typeof parseInventory>} Inventory
 */
/**
 * One host of an inventory: its monitor or one of its data nodes.
 * @typedef {Inventory['monitor']} InventoryHost
 */

/**
 * @param {string} file
 * @param {{extraVars?: Record<string, unknown>}} [options] extraVars: above every inventory variable, as Ansible's -e
 * @returns {Promise<Inventory>}
 */
export async function loadInventory(file, { extraVars = {} } = {}) {
  let text
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    throw new InputError(errorCode(error) === 'ENOENT' ? 'inventory file not found' : `cannot read inventory: ${errorMessage(error)}`, {
      file,
    })
  }
  let doc
  try {
    doc = YAML.parse(text)
  } catch (error) {
    throw new InputError(`not valid YAML: ${errorMessage(error).split('\n')[0]}`, { file })
  }
  return parseInventory(doc, file, { extraVars })
}

/** @param {unknown} doc @param {string} file @param {{extraVars?: Record<string, unknown>}} [options] */
export function parseInventory(doc, file, { extraVars = {} } = {}) {
  if (!isObject(doc)) throw new InputError('must be a YAML mapping of Ansible groups', { file })
  const groups = collectGroups(doc, file)
  const allVars = groups.get('all')?.vars ?? {}

  /** @param {string} group */
  const hostsOf = (group) => {
    const entry = groups.get(group)
    if (!entry || Object.keys(entry.hosts).length === 0) {
      throw new InputError(`group "${group}" is missing or has no hosts`, { file, key: `${group}.hosts` })
    }
    return Object.entries(entry.hosts).map(([name, vars]) => ({
      name,
      group,
      key: `${entry.key}.hosts.${name}`,
      vars: { ...allVars, ...entry.vars, ...(vars ?? {}), ...extraVars },
    }))
  }
  const monitors = hostsOf('monitor')
  if (monitors.length !== 1) {
    throw new InputError(`group "monitor" must have exactly one host, has ${monitors.length} (${monitors.map((h) => h.name).join(', ')})`, {
      file,
      key: 'monitor.hosts',
    })
  }
  const nodeHosts = hostsOf('nodes')
  if (nodeHosts.length < 2)
    throw new InputError(`group "nodes" needs at least 2 hosts, has ${nodeHosts.length}`, { file, key: 'nodes.hosts' })

  const vars = validate(clusterVars, { ...allVars, ...groups.get('nodes')?.vars, ...extraVars }, file, 'all.vars')
  if (vars.transport === 'netns' && !vars.lab_name) {
    throw new InputError('transport "netns" needs lab_name (the lab the VMs belong to)', { file, key: 'all.vars.lab_name' })
  }
  // deploy/lab gives each VM its own copy of this directory and of no other.
  if (vars.transport === 'netns' && vars.runtime === 'docker' && vars.docker_dir !== DEFAULT_DOCKER_DIR) {
    throw new InputError(
      `docker_dir "${vars.docker_dir}": with transport "netns" it must be ${DEFAULT_DOCKER_DIR}, the only directory each lab VM has its own copy of (elsewhere, the VMs' compose projects would overwrite each other)`,
      { file, key: 'all.vars.docker_dir' },
    )
  }

  if ((vars.ssl_ca_cert_file === undefined) !== (vars.ssl_ca_key_file === undefined)) {
    const missing = vars.ssl_ca_cert_file === undefined ? 'ssl_ca_cert_file' : 'ssl_ca_key_file'
    throw new InputError('a CA of your own needs both ssl_ca_cert_file and ssl_ca_key_file', { file, key: `all.vars.${missing}` })
  }

  let failover
  try {
    failover = resolveProfile(vars.failover_profile, vars.failover_settings)
  } catch (error) {
    if (!(error instanceof ProfileError)) throw error
    throw new InputError(error.message, { file, key: `all.vars.${error.key}` })
  }
  const violations = fencingViolations(failover)
  if (violations.length > 0) {
    const key = Object.keys(vars.failover_settings).length > 0 ? 'all.vars.failover_settings' : 'all.vars.failover_profile'
    throw new InputError(`failover profile "${vars.failover_profile}" with these settings is not fencing-safe: ${violations.join('; ')}`, {
      file,
      key,
    })
  }

  /** @param {{name: string, key: string, vars: Record<string, unknown>}} entry @param {'monitor' | 'node' | 'backup'} role */
  const toHost = (entry, role) => {
    const hv = validate(hostVars, entry.vars, file, `${entry.key}`)
    if (vars.transport === 'netns' && !hv.lab_vm)
      throw new InputError('transport "netns" needs lab_vm on every host', { file, key: `${entry.key}.lab_vm` })
    if (vars.runtime === 'docker' && hv.pgdata !== undefined) {
      throw new InputError(
        `runtime "docker" keeps PGDATA at ${IMAGE.pgdata} inside each container, on a volume of its own: remove pgdata`,
        { file, key: `${entry.key}.pgdata` },
      )
    }
    if (!inCidr(hv.ansible_host, vars.network_cidr)) {
      throw new InputError(`${hv.ansible_host} is outside network_cidr ${vars.network_cidr}`, { file, key: `${entry.key}.ansible_host` })
    }
    return {
      host: entry.name,
      key: entry.key,
      role,
      address: hv.ansible_host,
      port: hv.pg_port,
      nodeName: hv.node_name ?? entry.name.replace(/[^a-z0-9_]/g, '_'),
      // Native: a directory of the VM. Docker: the image's PGDATA, inside the host's container.
      pgdata: vars.runtime === 'docker' ? IMAGE.pgdata : (hv.pgdata ?? `/var/lib/postgresql/pgaf/${role}`),
      candidatePriority: hv.candidate_priority,
      replicationQuorum: hv.replication_quorum,
      labVm: hv.lab_vm,
      ssh: {
        user: hv.ansible_user,
        port: hv.ansible_port,
        keyFile: hv.ansible_ssh_private_key_file === undefined ? undefined : localPath(hv.ansible_ssh_private_key_file, file),
      },
    }
  }
  const [monitorEntry] = monitors
  if (!monitorEntry) throw new InputError('group "monitor" has no host', { file, key: 'monitor.hosts' })
  const monitor = toHost(monitorEntry, 'monitor')
  const nodes = nodeHosts.map((entry) => toHost(entry, 'node'))
  // Optional: pgBackRest's repository host (backup-config.mjs), the one host of group "backup".
  const backupGroup = groups.get('backup')
  let backup
  if (backupGroup) {
    const bv = validate(backupVars, { ...allVars, ...backupGroup.vars, ...extraVars }, file, `${backupGroup.key}.vars`)
    const hosts = Object.entries(backupGroup.hosts).map(([name, hv]) =>
      toHost(
        { name, key: `${backupGroup.key}.hosts.${name}`, vars: { ...allVars, ...backupGroup.vars, ...(hv ?? {}), ...extraVars } },
        'backup',
      ),
    )
    if (vars.runtime !== 'native')
      throw new InputError(`backups (group "backup") need runtime "native" for now`, { file, key: `${backupGroup.key}` })
    backup = resolveBackup({ hosts, vars: bv, formation: vars.formation, file, key: backupGroup.key })
  }

  const seen = new Map()
  for (const host of [monitor, ...nodes]) {
    // Docker: every container has its own volume, so data directories cannot collide.
    const checks = [
      ['address', `${host.address}:${host.port}`],
      ...(vars.runtime === 'docker' ? [] : [['data directory', `${host.address}:${host.pgdata}`]]),
    ]
    for (const [what, id] of checks) {
      const other = seen.get(`${what}|${id}`)
      if (other)
        throw new InputError(`duplicate ${what} ${id}: already used by ${other}`, {
          file,
          key: `${host.key}.${what === 'address' ? 'ansible_host' : 'pgdata'}`,
        })
      seen.set(`${what}|${id}`, host.host)
    }
  }
  const names = new Map()
  for (const node of nodes) {
    const other = names.get(node.nodeName)
    if (other)
      throw new InputError(`duplicate node_name "${node.nodeName}": already used by ${other}`, { file, key: `${node.key}.node_name` })
    names.set(node.nodeName, node.host)
  }

  return {
    file: path.resolve(file),
    formation: vars.formation,
    dbname: vars.dbname,
    appUser: vars.app_user,
    profile: vars.failover_profile,
    /** The resolved profile: monitor GUCs, keeper settings, Postgres settings, monitor URI options. */
    failover,
    runtime: vars.runtime,
    transport: vars.transport,
    ssl: vars.ssl,
    /** ssl: ca: the CA on this machine (pki.mjs); applications verify the servers against caCertFile. */
    tls: caFilesFor(path.resolve(file), {
      caCertFile: vars.ssl_ca_cert_file === undefined ? undefined : localPath(vars.ssl_ca_cert_file, file),
      caKeyFile: vars.ssl_ca_key_file === undefined ? undefined : localPath(vars.ssl_ca_key_file, file),
    }),
    networkCidr: vars.network_cidr,
    connectTimeout: vars.connect_timeout,
    pgBindir: vars.pg_bindir,
    labName: vars.lab_name,
    docker: { image: vars.docker_image, dir: vars.docker_dir },
    ssh: {
      knownHostsFile: localPath(vars.ssh_known_hosts_file, file),
      acceptNewHostKeys: vars.ssh_accept_new_host_keys,
      connectTimeout: vars.ssh_connect_timeout,
    },
    monitor,
    nodes,
    /** pgBackRest (backup-config.mjs): undefined without a `backup` group. */
    backup,
  }
}

/**
 * @typedef {{key: string, hosts: Record<string, Record<string, unknown> | null>, vars: Record<string, unknown>}} InventoryGroup
 *   hosts: each host's variables (null: none)
 */

/**
 * Groups at the top level or under all.children, each with its YAML key path.
 * @param {Record<string, unknown>} doc @param {string} file
 * @returns {Map<string, InventoryGroup>}
 */
function collectGroups(doc, file) {
  /** @type {Map<string, InventoryGroup>} */
  const groups = new Map()
  /** @param {string} name @param {unknown} body @param {string} key */
  const visit = (name, body, key) => {
    if (body === null || body === undefined) body = {}
    if (!isObject(body)) throw new InputError('a group must be a mapping with hosts, vars or children', { file, key })
    if (groups.has(name)) throw new InputError(`group "${name}" is defined twice`, { file, key })
    const hosts = body.hosts ?? {}
    const vars = body.vars ?? {}
    if (!isObject(hosts)) throw new InputError('hosts must be a mapping of host names', { file, key: `${key}.hosts` })
    if (!isObject(vars)) throw new InputError('vars must be a mapping', { file, key: `${key}.vars` })
    for (const [host, hv] of Object.entries(hosts)) {
      if (hv !== null && !isObject(hv)) throw new InputError('host variables must be a mapping', { file, key: `${key}.hosts.${host}` })
    }
    // Each host's variables were checked just above: a mapping or null.
    groups.set(name, { key, hosts: /** @type {InventoryGroup['hosts']} */ (hosts), vars })
    const children = body.children ?? {}
    if (!isObject(children)) throw new InputError('children must be a mapping of groups', { file, key: `${key}.children` })
    for (const [child, childBody] of Object.entries(children)) visit(child, childBody, `${key}.children.${child}`)
  }
  for (const [name, body] of Object.entries(doc)) visit(name, body, name)
  return groups
}

/**
 * The schema's output for `value`, or an InputError naming the first offending key.
 * @template {z.ZodType} S
 * @param {S} schema @param {Record<string, unknown>} value @param {string} file @param {string} key
 * @returns {z.output<S>}
 */
function validate(schema, value, file, key) {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue?.path.join('.')
  const first = issue?.path[0]
  const got = field && first !== undefined && typeof first !== 'symbol' ? value?.[first] : undefined
  const message = got === undefined ? 'is required' : `${issue?.message ?? 'invalid'} (got ${JSON.stringify(got)})`
  throw new InputError(message, { file, key: field ? `${key}.${field}` : key })
}

/**
 * `~/x` is in the home directory; a relative path is relative to the inventory, not the cwd.
 * @param {string} value @param {string} file
 */
function localPath(value, file) {
  if (value === '~' || value.startsWith('~/')) return path.join(os.homedir(), value.slice(1))
  return path.resolve(path.dirname(path.resolve(file)), value)
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** @param {string} address @param {string} range an IPv4 CIDR */
function inCidr(address, range) {
  const [base = '', bits] = range.split('/')
  /** @param {string} ip */
  const toInt = (ip) => ip.split('.').reduce((acc, octet) => (acc << 8) + Number(octet), 0) >>> 0
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0
  return (toInt(address) & mask) === (toInt(base) & mask)
}
