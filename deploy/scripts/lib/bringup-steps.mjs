// Bring-up, in the documented order: monitor -> first node (primary) -> each further node
// (secondary), one at a time -> verify -> the primary off the monitor's host -> application
// database and role -> DSN.
// Every step checks before it acts, so a re-run on a healthy cluster changes nothing and a
// re-run after a failure resumes where it stopped. The steps are also exported one by one
// (createClusterSteps) so the day-2 scripts (add-node, rejoin, replace-monitor) run the very same ones.
import fs from 'node:fs/promises'
import path from 'node:path'
import { assessCluster, describeNodes, roleOf } from './cluster-health.mjs'
import { performSwitchover } from './day2.mjs'
import { applicationDsn } from './dsn.mjs'
import { bringupEnvText } from './env-file.mjs'
import { monitorUri } from './monitor-uri.mjs'
import { ensureCa, ensureServerCert } from './pki.mjs'
import { scramVerifierMatches } from './secrets.mjs'
import { TIMELINE_GUARD_CHECK_SQL, TIMELINE_GUARD_SQL } from './timeline-guard.mjs'
import { waitFor } from '../../lib/wait-for.mjs'

/**
 * @typedef {import('./inventory.mjs').Inventory} Inventory
 * @typedef {import('./inventory.mjs').InventoryHost} InventoryHost
 * @typedef {import('./runtimes/pg-autoctl-core.mjs').MonitorNode} MonitorNode
 * @typedef {ReturnType<typeof import('./progress.mjs').createProgress>} Progress
 */

const SETTLED_STATES = new Set(['single', 'wait_primary', 'primary', 'secondary'])

/**
 * A password of the secrets file; loadClusterContext always has all of them (generated when missing).
 * @param {Record<string, string>} secrets @param {string} name
 */
function secretOf(secrets, name) {
  const value = secrets[name]
  if (value === undefined) throw new Error(`the cluster's secrets have no ${name}`)
  return value
}
const WRITABLE_STATES = new Set(['single', 'wait_primary', 'primary'])

/**
 * The steps bring-up is made of, bound to one cluster.
 * @param {{inventory: Inventory, secrets: Record<string, string>, transport: import('./transports/transport.mjs').Transport, runtime: import('./runtimes/runtime.mjs').Runtime, progress: Progress, timeoutMs?: number, dryRun?: boolean}} ctx
 *   dryRun: the transport only records commands (bringup --check); local files are not written either
 */
export function createClusterSteps({ inventory, secrets, transport, runtime, progress, timeoutMs = 120_000, dryRun = false }) {
  const profile = inventory.failover
  // The keeper's settings: the profile's, and the monitor URI with the profile's TCP timeouts.
  /** @type {Record<string, string>} */
  const keeperWanted = { ...profile.keeper, 'pg_autoctl.monitor': monitorUri(inventory) }
  /** @param {string} name */
  const secret = (name) => secretOf(secrets, name)
  /** The monitor's view as last read (nodesNow). @type {MonitorNode[]} */
  let lastNodes = []
  const describe = () => describeNodes(lastNodes)
  const nodesNow = async () => (lastNodes = await runtime.clusterNodes())

  /** @param {InventoryHost[]} hosts */
  async function reachableStep(hosts) {
    await progress.step('hosts reachable', undefined, async () => {
      await transport.ensureReachable(hosts)
      return { changed: false, detail: `${hosts.length} hosts over ${transport.name}` }
    })
  }

  /** What the runtime needs on the host (docker: the daemon, the image), before anything is written there. @param {InventoryHost} host */
  async function runtimeReadyStep(host) {
    const { ensureReady } = runtime
    if (!ensureReady) return
    await progress.step(`${runtime.name} ready`, host.host, async () => ({ changed: false, detail: await ensureReady(host) }))
  }

  /** @param {InventoryHost} host */
  async function passfileStep(host) {
    await progress.step('passfile', host.host, async () => {
      const passwords = { monitorPassword: secret('monitor_password'), replicationPassword: secret('replication_password') }
      const changed = await runtime.ensurePassfile(host, passwords)
      return { changed, detail: changed ? `wrote ${runtime.credentialsLabel}` : 'up to date' }
    })
  }

  /** @param {InventoryHost} host */
  async function hardenHbaStep(host) {
    await progress.step(`${host.role === 'monitor' ? 'monitor' : host.nodeName}: pg_hba`, host.host, async () => {
      const changed = await runtime.hardenHba(host)
      return {
        changed,
        detail: changed
          ? `no trust over TCP${host.role === 'node' ? `, ${inventory.appUser}@${inventory.dbname} from ${inventory.networkCidr}, pg_rewind between nodes` : ''}`
          : 'up to date',
      }
    })
  }

  /** @param {InventoryHost} host */
  async function serviceStep(host) {
    await progress.step(`${host.role === 'monitor' ? 'monitor' : host.nodeName}: service`, host.host, async () => {
      const started = await runtime.ensureRunning(host)
      return { changed: started, detail: started ? `started ${runtime.serviceName(host)}` : `${runtime.serviceName(host)} running` }
    })
  }

  /**
   * ssl: ca: the CA on this machine (generated once, or the inventory's) and, per host address, a
   * server certificate signed by it for that address and the inventory's names of it, written
   * to the host with the CA (runtime.ensureTlsFiles). Hosts sharing an address (the monitor and a
   * node on one VM) share one certificate. Nothing to do for other ssl modes.
   * @param {InventoryHost[]} hosts
   */
  async function tlsSteps(hosts) {
    if (inventory.ssl !== 'ca') return
    const ca = inventory.tls
    await progress.step('TLS CA', undefined, async () => {
      const { created } = await ensureCa(ca, {
        write: !dryRun,
        name: `pg-ha-kit CA ${inventory.formation}@${path.basename(inventory.file)}`,
      })
      if (ca.supplied) return { changed: false, detail: `the inventory's CA ${ca.caCertFile}` }
      if (created) return { changed: true, detail: `${dryRun ? 'would generate' : 'generated'} ${ca.caCertFile} and ca.key (0600)` }
      return { changed: false, detail: `${ca.caCertFile} reused` }
    })
    /** @type {Map<string, InventoryHost[]>} */
    const byAddress = new Map()
    for (const host of hosts) byAddress.set(host.address, [...(byAddress.get(host.address) ?? []), host])
    for (const [address, sharing] of byAddress) {
      const [first] = sharing
      if (!first) continue
      await progress.step('TLS certificate', first.host, async () => {
        const dnsNames = sharing.map((h) => h.host)
        const local = dryRun
          ? { certFile: path.join(ca.dir, 'hosts', `${address}.crt`), keyFile: path.join(ca.dir, 'hosts', `${address}.key`), changed: true }
          : await ensureServerCert(ca, { address, dnsNames })
        /** @param {string} file */
        const read = (file) => (dryRun ? Promise.resolve('') : fs.readFile(file, 'utf8'))
        const files = {
          ca: { text: await read(ca.caCertFile), from: ca.caCertFile },
          cert: { text: await read(local.certFile), from: local.certFile },
          key: { text: await read(local.keyFile), from: local.keyFile },
        }
        // Native: one directory per VM, shared by its hosts. Docker: one per compose project.
        let written = false
        for (const target of runtime.name === 'docker' ? sharing : [first]) if (await runtime.ensureTlsFiles(target, files)) written = true
        // A running Postgres serves the new files after a reload (a fresh one reads them at start).
        if (written && !dryRun) {
          for (const h of sharing)
            if ((await runtime.isInitialized(h)) && (await runtime.acceptsSql(h))) await runtime.sqlExec(h, 'select pg_reload_conf();')
        }
        const what = `IP:${address} ${dnsNames.map((n) => `DNS:${n}`).join(' ')}`
        if (!local.changed && !written) return { changed: false, detail: `certificate for ${what} up to date` }
        return {
          changed: true,
          detail: `${local.changed ? (dryRun ? 'would sign' : 'signed') : 'reused'} a certificate for ${what}; ${written ? (dryRun ? 'would write' : 'wrote') : 'kept'} ${runtime.name === 'native' ? '~postgres/.pgha/tls/{ca.crt,server.crt,server.key (0600)}' : `tls/ of ${sharing.map((h) => runtime.serviceName(h)).join(', ')}`}`,
        }
      })
    }
  }

  /** The keeper guard (keeper-guard.sh: rewinds a node stuck behind a timeline fork) in place. @param {InventoryHost} node */
  async function keeperGuardStep(node) {
    await progress.step(`${node.nodeName}: keeper guard`, node.host, async () => {
      const changed = await runtime.ensureKeeperGuard(node)
      return { changed, detail: changed ? `installed ${runtime.keeperGuardLabel}` : 'up to date' }
    })
  }

  /**
   * A new standby's pg_basebackup starts with a spread checkpoint, paced over most of
   * checkpoint_timeout: 94 s on a primary fresh from bring-up. An immediate one first leaves it
   * next to nothing to write.
   */
  async function checkpointPrimary() {
    const name = (await nodesNow()).find((n) => n.reported_state === 'primary' || n.reported_state === 'single')?.name
    const primary = inventory.nodes.find((n) => n.nodeName === name)
    if (primary && (await runtime.acceptsSql(primary))) await runtime.sqlExec(primary, 'checkpoint;')
  }

  /**
   * A data node from nothing to settled: create, keeper profile, pg_hba, service, wait.
   * @param {InventoryHost} node @param {{role: 'primary'|'secondary', states?: Set<string>}} expect
   *   role names the last step; states are the reported states that count as settled
   */
  async function nodeSteps(node, { role, states = SETTLED_STATES }) {
    const label = `${node.nodeName}`
    await progress.step(`${label}: create`, node.host, async () => {
      if (await runtime.isInitialized(node)) return { changed: false, detail: `exists at ${node.pgdata}` }
      if (role === 'secondary') await checkpointPrimary()
      await runtime.createNode(node)
      return { changed: true, detail: `created ${node.address}:${node.port} in formation ${inventory.formation}` }
    })
    await keeperProfileStep(node)
    await hardenHbaStep(node)
    await keeperGuardStep(node)
    await serviceStep(node)
    await progress.step(`${label}: ${role}`, node.host, async () => {
      const state = await waitFor(
        async () => {
          const self = (await nodesNow()).find((n) => n.name === node.nodeName)
          return self && self.reported_state === self.assigned_state && states.has(self.reported_state) ? self.reported_state : null
        },
        { timeoutMs, what: `${node.nodeName} to settle`, lastSeen: describe },
      )
      await waitFor(() => runtime.acceptsSql(node), { timeoutMs, what: `${node.nodeName} to accept connections` })
      return { changed: false, detail: `state ${state}` }
    })
    await postgresProfileStep(node)
  }

  /**
   * The keeper's settings: the profile's, and pg_autoctl.monitor = monitorUri(inventory) with
   * the profile's TCP timeouts; a running keeper reloads them.
   * @param {InventoryHost} node
   */
  async function keeperProfileStep(node) {
    await progress.step(`${node.nodeName}: keeper profile`, node.host, async () => {
      const current = await runtime.keeperSettings(node, Object.keys(keeperWanted))
      const differing = Object.entries(keeperWanted).filter(([key, value]) => current[key] !== value)
      if (differing.length === 0) return { changed: false, detail: `${inventory.profile} already applied` }
      for (const [key, value] of differing) await runtime.setKeeperSetting(node, key, value)
      if (await runtime.isRunning(node)) await runtime.reloadKeeper(node)
      return { changed: true, detail: `${inventory.profile}: set ${differing.map(([k, v]) => `${k}=${v}`).join(' ')}` }
    })
  }

  /**
   * The Postgres side of the fencing condition (wal_sender_timeout, wal_receiver_status_interval)
   * with ALTER SYSTEM: postgresql.auto.conf is read after pg_autoctl's own include, pg_autoctl
   * never rewrites it, and pg_basebackup and pg_rewind copy it to rebuilt nodes.
   * @param {InventoryHost} node
   */
  async function postgresProfileStep(node) {
    await systemSettingsStep(`${node.nodeName}: postgres profile`, node, profile.postgres)
  }

  /**
   * ALTER SYSTEM for the settings that differ from pg_settings, then a reload.
   * @param {string} label @param {InventoryHost} host @param {Record<string, string>} settings
   */
  async function systemSettingsStep(label, host, settings) {
    await progress.step(label, host.host, async () => {
      const names = Object.keys(settings)
      const current = await runtime.sqlJson(
        host,
        `select name, setting from pg_settings where name in (${names.map((n) => `'${n}'`).join(',')})`,
      )
      const differing = names.filter((name) => current.find((row) => row.name === name)?.setting !== settings[name])
      if (differing.length === 0) return { changed: false, detail: `${inventory.profile} already applied` }
      await runtime.sqlExec(
        host,
        differing.map((name) => `alter system set ${name} = '${settings[name]}';`).join('\n') + '\nselect pg_reload_conf();\n',
      )
      return {
        changed: true,
        detail: `${inventory.profile}: set ${differing.map((n) => `${n.replace('pgautofailover.', '')}=${settings[n]}`).join(' ')}`,
      }
    })
  }

  /**
   * The monitor of the inventory from nothing to ready: create, pg_hba, service, accepting
   * connections, autoctl_node's password (the keepers' passfiles hold it), failover profile.
   * Its host's passfile (for docker: the compose project) must be in place first.
   */
  async function monitorSteps() {
    const monitor = inventory.monitor
    await progress.step('monitor: create', monitor.host, async () => {
      if (await runtime.isInitialized(monitor)) return { changed: false, detail: `exists at ${monitor.pgdata}` }
      await runtime.createMonitor(monitor)
      return { changed: true, detail: `created on ${monitor.address}:${monitor.port}` }
    })
    await hardenHbaStep(monitor)
    await serviceStep(monitor)
    await progress.step('monitor: accepts connections', monitor.host, async () => {
      await waitFor(() => runtime.acceptsSql(monitor), { timeoutMs, what: 'the monitor to accept connections' })
      return { changed: false, detail: 'ready' }
    })
    await passwordStep(monitor, 'autoctl_node', secret('monitor_password'), {
      db: 'pg_auto_failover',
      label: 'monitor: autoctl_node password',
    })
    await systemSettingsStep('monitor: failover profile', monitor, profile.monitor)
    await progress.step('monitor: timeline guard', monitor.host, async () => {
      const [check] = await runtime.sqlJson(monitor, TIMELINE_GUARD_CHECK_SQL, { db: 'pg_auto_failover' })
      if (check?.installed) return { changed: false, detail: 'installed' }
      await runtime.sqlExec(monitor, TIMELINE_GUARD_SQL, { db: 'pg_auto_failover' })
      return { changed: true, detail: 'an election never trusts a node reporting an older timeline (timeline-guard.mjs)' }
    })
  }

  async function verifyStep() {
    await progress.step('verify', undefined, async () => {
      await waitFor(async () => assessCluster(await nodesNow(), inventory.nodes.length).healthy, {
        timeoutMs,
        what: 'one healthy primary and healthy secondaries',
        lastSeen: describe,
      })
      const primary = lastNodes.find((n) => n.reported_state === 'primary')
      return { changed: false, detail: `primary ${primary?.name}, ${lastNodes.length - 1} secondaries, all healthy` }
    })
    return lastNodes
  }

  /**
   * After verify: a primary on the monitor's host (VM3) moves to the best healthy secondary
   * elsewhere when one has a higher candidate priority (primaryMoveTarget), by a promotion as
   * switchover.mjs --to does, then waits until healthy with it as primary. No change otherwise.
   * @param {MonitorNode[]} nodes the monitor's view after verify
   */
  async function primaryPlacementStep(nodes) {
    await progress.step("primary off the monitor's host", undefined, async () => {
      const decision = primaryMoveTarget(nodes, inventory)
      if (!decision.move) return { changed: false, detail: decision.reason }
      await performSwitchover({ inventory, runtime }, { to: decision.target })
      await waitFor(
        async () => {
          const now = await nodesNow()
          return assessCluster(now, inventory.nodes.length).healthy && now.find((n) => roleOf(n) === 'primary')?.name === decision.target
        },
        { timeoutMs, what: `${decision.target} primary and the cluster healthy`, lastSeen: describe },
      )
      return { changed: true, detail: `${decision.reason}: promoted ${decision.target}, all healthy` }
    })
    return lastNodes
  }

  /** The replicator's password must be on the current primary before a standby can clone it. */
  async function replicationPasswordStep() {
    const primaryRow = await waitFor(async () => (await nodesNow()).find((n) => WRITABLE_STATES.has(n.reported_state)), {
      timeoutMs,
      what: 'a primary',
      lastSeen: describe,
    })
    const current = inventory.nodes.find((n) => n.nodeName === primaryRow.name)
    if (!current) throw new Error(`the primary ${primaryRow.name} is not a node of ${inventory.file}`)
    await passwordStep(current, 'pgautofailover_replicator', secret('replication_password'), { label: 'replication password' })
  }

  /**
   * Sets a role's password only when the stored SCRAM verifier does not match it already.
   * @param {InventoryHost} host @param {string} role @param {string} password
   * @param {{db?: string, label: string, create?: boolean}} options create: a missing role is created (else an error)
   */
  async function passwordStep(host, role, password, { db = 'postgres', label, create = false }) {
    await progress.step(label, host.host, async () => {
      const verifier = await runtime.roleVerifier(host, role, { db })
      const exists = verifier !== undefined
      if (exists && scramVerifierMatches(verifier, password)) return { changed: false, detail: `${role} password up to date` }
      if (!exists && !create) throw new Error(`role ${role} does not exist on ${host.host}`)
      const literal = `'${password.replaceAll("'", "''")}'`
      await runtime.sqlExec(
        host,
        exists ? `alter role "${role}" password ${literal};\n` : `create role "${role}" login password ${literal};\n`,
        { db },
      )
      return { changed: true, detail: `${role} password ${exists ? 'set' : 'created'}` }
    })
  }

  /** DATABASE_URL (every node of the inventory) in the env file, 0600, written only when it differs. @param {string} envFile */
  async function envFileStep(envFile) {
    await progress.step('application DSN', undefined, async () => {
      if (dryRun)
        return {
          changed: true,
          detail: `would write DATABASE_URL (every node, target_session_attrs=read-write) and DB_RETRY_BUDGET_MS to ${envFile} (0600)`,
        }
      const content = bringupEnvText(inventory, secret('app_password'))
      const current = await fs.readFile(envFile, 'utf8').catch(() => null)
      if (current === content) {
        await fs.chmod(envFile, 0o600)
        return { changed: false, detail: `${envFile} up to date` }
      }
      await fs.mkdir(path.dirname(envFile), { recursive: true })
      const tmp = `${envFile}.${process.pid}.tmp`
      await fs.writeFile(tmp, content, { mode: 0o600 })
      await fs.rename(tmp, envFile)
      return { changed: true, detail: `wrote ${envFile} (0600)` }
    })
    return applicationDsn(inventory)
  }

  return {
    profile,
    nodesNow,
    describe,
    lastNodes: () => lastNodes,
    reachableStep,
    runtimeReadyStep,
    passfileStep,
    tlsSteps,
    hardenHbaStep,
    serviceStep,
    monitorSteps,
    keeperProfileStep,
    nodeSteps,
    postgresProfileStep,
    systemSettingsStep,
    verifyStep,
    primaryPlacementStep,
    replicationPasswordStep,
    passwordStep,
    envFileStep,
  }
}

/**
 * Whether bring-up moves the primary off the monitor's host. VM3 carries the monitor and a data
 * node: losing VM3 while its node is primary loses the primary and the monitor that could promote
 * a standby at once. So when the one primary shares the monitor's address and a healthy, settled
 * secondary on another host has a higher candidate priority (the monitor's, so 0 never counts),
 * the target is the highest of those, the first in the inventory among equals.
 * @param {Array<Pick<MonitorNode, 'name' | 'reported_state' | 'assigned_state' | 'health' | 'candidate_priority'>>} nodes the monitor's view (clusterNodes)
 * @param {{monitor: Pick<InventoryHost, 'address'>, nodes: Array<Pick<InventoryHost, 'nodeName' | 'address'>>}} inventory
 * @returns {{move: false, primary?: string, reason: string} | {move: true, primary: string, target: string, reason: string}}
 */
export function primaryMoveTarget(nodes, inventory) {
  const primaries = nodes.filter((n) => roleOf(n) === 'primary')
  const [primary] = primaries
  if (primaries.length !== 1 || primary === undefined) return { move: false, reason: `${primaries.length} primaries, nothing to move` }
  const monitorAddress = inventory.monitor.address
  /** @param {string} name */
  const addressOf = (name) => inventory.nodes.find((n) => n.nodeName === name)?.address
  if (addressOf(primary.name) !== monitorAddress) {
    return { move: false, primary: primary.name, reason: `primary ${primary.name}, not on the monitor's host ${monitorAddress}` }
  }
  /** @param {string} name */
  const order = (name) => inventory.nodes.findIndex((n) => n.nodeName === name)
  const candidates = nodes
    .filter((n) => n.name !== primary.name && addressOf(n.name) !== undefined && addressOf(n.name) !== monitorAddress)
    .filter((n) => n.reported_state === 'secondary' && n.assigned_state === 'secondary' && n.health === 1)
    .filter((n) => Number(n.candidate_priority) > Number(primary.candidate_priority))
    .sort((a, b) => Number(b.candidate_priority) - Number(a.candidate_priority) || order(a.name) - order(b.name))
  const shares = `primary ${primary.name} (candidate priority ${primary.candidate_priority}) shares the monitor's host ${monitorAddress}`
  const [target] = candidates
  if (target === undefined)
    return { move: false, primary: primary.name, reason: `${shares}; no healthy secondary elsewhere with a higher candidate priority` }
  return { move: true, primary: primary.name, target: target.name, reason: `${shares}; ${target.name} has ${target.candidate_priority}` }
}

/**
 * @param {{inventory: Inventory, secrets: Record<string, string>, transport: import('./transports/transport.mjs').Transport, runtime: import('./runtimes/runtime.mjs').Runtime, progress: Progress, envFile: string, timeoutMs?: number}} ctx
 */
export async function bringUp({ envFile, ...ctx }) {
  const { inventory, secrets, runtime, progress } = ctx
  const steps = createClusterSteps(ctx)
  const allHosts = [inventory.monitor, ...inventory.nodes]

  await steps.reachableStep(allHosts)
  for (const host of allHosts) await steps.runtimeReadyStep(host)
  for (const host of allHosts) await steps.passfileStep(host)
  await steps.tlsSteps(allHosts)

  await steps.monitorSteps()

  // Data nodes, one at a time; the first becomes primary unless the cluster already has one.
  for (const [index, node] of inventory.nodes.entries()) {
    if (index === 1) await steps.replicationPasswordStep()
    await steps.nodeSteps(node, { role: index === 0 ? 'primary' : 'secondary' })
  }

  const lastNodes = await steps.primaryPlacementStep(await steps.verifyStep())

  const primaryName = lastNodes.find((x) => x.reported_state === 'primary')?.name
  const primary = inventory.nodes.find((n) => n.nodeName === primaryName)
  if (!primary) throw new Error(`no node of ${inventory.file} is the primary after verify (the monitor's primary: ${primaryName})`)
  await steps.passwordStep(primary, inventory.appUser, secretOf(secrets, 'app_password'), { label: 'application role', create: true })
  await progress.step('application database', primary.host, async () => {
    const [db] = await runtime.sqlJson(
      primary,
      `select pg_get_userbyid(datdba) as owner from pg_database where datname = '${inventory.dbname}'`,
    )
    if (!db) {
      await runtime.sqlExec(primary, `create database "${inventory.dbname}" owner "${inventory.appUser}";\n`)
      return { changed: true, detail: `created ${inventory.dbname} owned by ${inventory.appUser}` }
    }
    if (db.owner === inventory.appUser) return { changed: false, detail: `${inventory.dbname} owned by ${inventory.appUser}` }
    await runtime.sqlExec(primary, `alter database "${inventory.dbname}" owner to "${inventory.appUser}";\n`)
    return { changed: true, detail: `${inventory.dbname} now owned by ${inventory.appUser}` }
  })

  const dsn = await steps.envFileStep(envFile)
  return { dsn, nodes: steps.lastNodes() }
}
