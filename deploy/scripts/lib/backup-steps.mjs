// pgBackRest on a running cluster (backup.mjs, restore.mjs): setting it up on every data node and
// the repository host, and running its commands there. Files and settings: backup-config.mjs.
//
// Setup, each step checking before it acts (a re-run changes nothing):
//   TLS: the cluster's CA (pki.mjs, the one ssl: ca uses) signs one certificate per backup host
//     address, good as TLS server and client; its common name is the address tls-server-auth admits
//   files: the certificate, node.conf / repo.conf, the log, lock and spool directories (0700)
//   server: `pgbackrest server` as a service of each backup host address (one per address: the
//     repository host's with repo.conf, a data node's with node.conf)
//   stanza: stanza-create on the repository host, before any node archives (a push to a stanza
//     that does not exist yet fails, and counts in pg_stat_archiver.failed_count for good)
//   archiving: archive_mode and archive_command with ALTER SYSTEM (postgresql.auto.conf: read after
//     pg_autoctl's include, never rewritten by it, copied to rebuilt nodes by pg_basebackup), so
//     whichever node is primary archives. archive_mode needs a restart: standbys first, their
//     Postgres stopped and started again by their keeper; then the primary, after a planned
//     switchover has made it a standby (its Postgres never stops while it is the primary, so
//     the monitor never sees a failed primary)
//   check: `pgbackrest check` (a WAL switch on the primary, archived to the repository)
import fs from 'node:fs/promises'
import { assessCluster, describeNodes, roleOf } from './cluster-health.mjs'
import { performSwitchover } from './day2.mjs'
import {
  ARCHIVE_TIMEOUT,
  BACKUP_FILES,
  backupServerHosts,
  BACKUP_SERVICE,
  pgIndexEntries,
  archiveCommand,
  renderNodeConf,
  renderRepoConf,
} from './backup-config.mjs'
import { ensureCa, ensureServerCert } from './pki.mjs'
import { InputError } from '../../lib/errors.mjs'
import { WRITE_IF_CHANGED_SH, shellQuote as quote } from '../../lib/shell.mjs'
import { waitFor } from '../../lib/wait-for.mjs'

/**
 * @typedef {import('./cluster-context.mjs').ClusterContext} ClusterContext
 * @typedef {import('./inventory.mjs').InventoryHost} InventoryHost
 * @typedef {import('./backup-config.mjs').BackupSettings} BackupSettings
 * @typedef {ReturnType<typeof import('./progress.mjs').createProgress>} Progress
 */

/** The inventory's backup settings, or an InputError saying how to get some. @param {import('./inventory.mjs').Inventory} inventory */
export function backupOf(inventory) {
  if (!inventory.backup) {
    throw new InputError('the inventory has no group "backup" (the pgBackRest repository host): add one, then run backup.mjs --setup', {
      file: inventory.file,
      key: 'backup',
    })
  }
  return inventory.backup
}

/**
 * pgBackRest's commands on the cluster's hosts, and the steps that set it up.
 * @param {Pick<ClusterContext, 'inventory' | 'runtime' | 'transport' | 'secrets'> & {progress: Progress}} ctx
 */
export function createBackupTools({ inventory, runtime, transport, secrets, progress }) {
  const backup = backupOf(inventory)
  const repoHost = backup.repoHost
  const serverHosts = backupServerHosts(backup, inventory.nodes)
  const clientNames = serverHosts.map((h) => h.address)
  /** @param {InventoryHost} host */
  const serverConf = (host) => (host.address === repoHost.address ? BACKUP_FILES.repoConf : BACKUP_FILES.nodeConf)

  /**
   * pgbackrest on a host as the Postgres user, with a configuration file of BACKUP_FILES.
   * @param {InventoryHost} host @param {string} config @param {string[]} args
   * @param {{allowFailure?: boolean}} [options]
   */
  function pgbackrest(host, config, args, { allowFailure = false } = {}) {
    return runtime.pg(host, ['pgbackrest', `--config=${config}`, `--stanza=${backup.stanza}`, ...args], { allowFailure })
  }

  /**
   * pgbackrest on the repository host, with repo.conf minus the data nodes the monitor reports
   * failing: pgBackRest's check, stanza-create and backup give up when one configured node does
   * not answer, which is exactly when a backup is wanted (a node's VM lost, a failover behind).
   * Without the monitor's answer every node stays.
   * @param {string[]} args @param {{allowFailure?: boolean}} [options]
   * @returns {Promise<import('./runtimes/pg-autoctl-core.mjs').ExecResult & {skipped: string[]}>}
   */
  async function onRepo(args, options) {
    const view = await runtime.clusterNodes().catch(() => null)
    const skipped = view ? inventory.nodes.filter((node) => view.find((row) => row.name === node.nodeName)?.health !== 1) : []
    // pgBackRest needs pg1: the nodes kept take indexes 1..k on the command line (above
    // repo.conf), the indexes after them are reset.
    const kept = inventory.nodes.filter((node) => !skipped.includes(node))
    const overrides =
      skipped.length === 0
        ? []
        : [
            ...kept.flatMap((node, i) => pgIndexEntries(backup, node, i + 1).map(([key, value]) => `--${key}=${value}`)),
            ...inventory.nodes
              .slice(kept.length)
              .flatMap((_, i) => pgIndexEntries(backup, kept[0] ?? repoHost, kept.length + i + 1).map(([key]) => `--reset-${key}`)),
          ]
    const out = await pgbackrest(repoHost, BACKUP_FILES.repoConf, [...overrides, ...args], options)
    return { ...out, skipped: skipped.map((node) => node.nodeName) }
  }

  /** `pgbackrest info` of the stanza, from the repository host. @returns {Promise<PgbackrestInfo>} */
  async function info() {
    const out = await pgbackrest(repoHost, BACKUP_FILES.repoConf, ['--output=json', 'info'])
    const [stanza] = JSON.parse(out.stdout)
    return stanza
  }

  /**
   * Writes `text` to `file` on a host as the Postgres user with `mode`, unless it holds it already.
   * @param {InventoryHost} host @param {string} file @param {string} mode @param {string} text @param {string} label
   */
  async function writeFile(host, file, mode, text, label) {
    const out = await runtime.pg(host, ['sh', '-c', `mkdir -p -m 0700 "$(dirname "$1")" && ${WRITE_IF_CHANGED_SH}`, 'write', file, mode], {
      input: text,
      inputLabel: label,
    })
    return !out.stdout.includes('unchanged')
  }

  async function tlsSteps() {
    const ca = inventory.tls
    await progress.step('backup: TLS CA', undefined, async () => {
      const { created } = await ensureCa(ca, { name: `pg-ha-kit CA ${inventory.formation}` })
      return { changed: created, detail: created ? `generated ${ca.caCertFile}` : `${ca.caCertFile} reused` }
    })
    /** @type {Map<string, boolean>} per address: whether its files changed */
    const changed = new Map()
    for (const host of serverHosts) {
      await progress.step('backup: TLS certificate', host.host, async () => {
        // pgBackRest matches the host it dials against DNS names only (never an IP entry), so the
        // address is a DNS name of the certificate too.
        const names = [
          host.address,
          ...[repoHost, ...inventory.nodes, inventory.monitor].filter((h) => h.address === host.address).map((h) => h.host),
        ]
        const local = await ensureServerCert(ca, { address: host.address, dnsNames: names }, { subdir: 'pgbackrest', clientAuth: true })
        let written = false
        for (const [file, mode, from] of /** @type {const} */ ([
          [BACKUP_FILES.ca, '0644', ca.caCertFile],
          [BACKUP_FILES.cert, '0644', local.certFile],
          [BACKUP_FILES.key, '0600', local.keyFile],
        ])) {
          if (await writeFile(host, file, mode, await fs.readFile(from, 'utf8'), from)) written = true
        }
        changed.set(host.address, written)
        return {
          changed: written || local.changed,
          detail: `${local.changed ? 'signed' : 'reused'} CN=${host.address} (TLS server and client); ${written ? 'wrote' : 'kept'} ~postgres/.pgha/pgbackrest/tls/`,
        }
      })
    }
    return changed
  }

  /** node.conf on every data node, repo.conf on the repository host, and their directories. */
  async function configSteps() {
    /** @type {Set<string>} addresses whose configuration changed */
    const changed = new Set()
    for (const node of inventory.nodes) {
      await progress.step(`${node.nodeName}: pgBackRest configuration`, node.host, async () => {
        const wrote = await writeFile(node, BACKUP_FILES.nodeConf, '0600', renderNodeConf(backup, node, clientNames), 'node.conf')
        if (wrote) changed.add(node.address)
        return { changed: wrote, detail: wrote ? `wrote ${BACKUP_FILES.nodeConf}` : 'up to date' }
      })
    }
    await progress.step('repository: pgBackRest configuration', repoHost.host, async () => {
      const wrote = await writeFile(
        repoHost,
        BACKUP_FILES.repoConf,
        '0600',
        renderRepoConf(backup, inventory.nodes, clientNames, secrets),
        'repo.conf',
      )
      if (wrote) changed.add(repoHost.address)
      return { changed: wrote, detail: wrote ? `wrote ${BACKUP_FILES.repoConf}` : 'up to date' }
    })
    for (const host of serverHosts) {
      const dirs = [
        BACKUP_FILES.logDir,
        BACKUP_FILES.lockDir,
        BACKUP_FILES.spoolDir,
        ...(host === repoHost && !backup.s3 ? [backup.repoPath] : []),
      ]
      await runtime.pg(host, ['mkdir', '-p', '-m', '0700', ...dirs])
    }
    return changed
  }

  /** `pgbackrest server` on every backup host address, restarted when its files changed. @param {Set<string>} changedAddresses */
  async function serverSteps(changedAddresses) {
    for (const host of serverHosts) {
      await progress.step('backup: pgbackrest server', host.host, async () => {
        const spec = {
          name: BACKUP_SERVICE,
          user: 'postgres',
          argv: ['pgbackrest', `--config=${serverConf(host)}`, 'server'],
          env: { PATH: `${inventory.pgBindir}:/usr/local/bin:/usr/bin:/bin` },
        }
        const restarted = changedAddresses.has(host.address) && (await transport.stopService(host, BACKUP_SERVICE))
        const started = await transport.ensureService(host, spec)
        await waitFor(
          async () =>
            (await runtime.pg(host, ['pgbackrest', `--config=${serverConf(host)}`, 'server-ping'], { allowFailure: true })).exitCode === 0,
          { timeoutMs: 20_000, what: `pgbackrest server on ${host.address}:${backup.tlsPort}` },
        )
        return {
          changed: started,
          detail: `${restarted ? 'restarted' : started ? 'started' : 'running'} on ${host.address}:${backup.tlsPort} (${transport.describeService(spec)})`,
        }
      })
    }
  }

  /**
   * TLS certificates, configuration files and `pgbackrest server` on every backup host, each
   * server restarted when its files changed: what a host needs before any pgBackRest command.
   */
  async function hostSteps() {
    const tlsChanged = await tlsSteps()
    const confChanged = await configSteps()
    for (const [address, changed] of tlsChanged) if (changed) confChanged.add(address)
    await serverSteps(confChanged)
  }

  /** @param {InventoryHost} node */
  async function archiveSettings(node) {
    const rows = await runtime.sqlJson(
      node,
      "select name, setting, unit, pending_restart from pg_settings where name in ('archive_mode', 'archive_command', 'archive_timeout')",
    )
    /** @param {string} name */
    const row = (name) => rows.find((r) => r.name === name)
    const timeout = row('archive_timeout')
    return {
      mode: row('archive_mode')?.setting,
      pending: !!row('archive_mode')?.pending_restart,
      command: row('archive_command')?.setting,
      timeout: timeout ? `${timeout.setting}${timeout.unit}` : undefined,
    }
  }

  /** archive_mode and archive_command on every data node (ALTER SYSTEM), then the restarts archive_mode needs. */
  async function archivingSteps() {
    const command = archiveCommand(backup)
    for (const node of inventory.nodes) {
      await progress.step(`${node.nodeName}: archiving settings`, node.host, async () => {
        const now = await archiveSettings(node)
        if ((now.mode === 'on' || now.pending) && now.command === command && now.timeout === ARCHIVE_TIMEOUT)
          return { changed: false, detail: `archive_mode on, archive_command set, archive_timeout ${ARCHIVE_TIMEOUT}` }
        const literal = `'${command.replaceAll("'", "''")}'`
        await runtime.sqlExec(
          node,
          `alter system set archive_mode = 'on';\nalter system set archive_command = ${literal};\n` +
            `alter system set archive_timeout = '${ARCHIVE_TIMEOUT}';\nselect pg_reload_conf();\n`,
        )
        return {
          changed: true,
          detail: `archive_command = ${command}; archive_timeout = ${ARCHIVE_TIMEOUT}; archive_mode = on${now.mode === 'on' ? '' : ' (needs a restart)'}`,
        }
      })
    }
    const nodes = await runtime.clusterNodes()
    /** @param {string} name */
    const hostOf = (name) => inventory.nodes.find((n) => n.nodeName === name)
    const standbys = nodes.filter((n) => roleOf(n) !== 'primary')
    for (const row of standbys) {
      const node = hostOf(row.name)
      if (node) await restartStep(node)
    }
    const primaryRow = nodes.find((n) => roleOf(n) === 'primary')
    const primary = primaryRow && hostOf(primaryRow.name)
    if (primary && (await archiveSettings(primary)).mode !== 'on') {
      await progress.step("switchover for the primary's restart", inventory.monitor.host, async () => {
        await performSwitchover({ inventory, runtime })
        const now = await waitFor(
          async () => {
            const view = await runtime.clusterNodes()
            const next = view.find((n) => roleOf(n) === 'primary')
            return assessCluster(view, inventory.nodes.length).healthy && next && next.name !== primary.nodeName ? view : null
          },
          { timeoutMs: 120_000, what: 'a healthy cluster with a new primary' },
        )
        return {
          changed: true,
          detail: `archive_mode needs a restart: ${primary.nodeName} handed over to ${now.find((n) => roleOf(n) === 'primary')?.name} first (a planned switchover, not a failover)`,
        }
      })
      await restartStep(primary)
    }
  }

  /**
   * A standby's Postgres restarted for archive_mode: stopped (fast), started again by its keeper,
   * then healthy again as the monitor sees it. No change when archive_mode is on already.
   * @param {InventoryHost} node
   */
  async function restartStep(node) {
    await progress.step(`${node.nodeName}: restart for archive_mode`, node.host, async () => {
      if ((await archiveSettings(node)).mode === 'on') return { changed: false, detail: 'archive_mode on' }
      const view = await runtime.clusterNodes()
      if (roleOf(view.find((n) => n.name === node.nodeName) ?? { reported_state: '', assigned_state: '' }) === 'primary')
        throw new Error(`${node.nodeName} is the primary: not restarting it`)
      await runtime.pg(node, ['pg_ctl', 'stop', '-D', node.pgdata, '-m', 'fast', '-w'])
      /** @type {import('./runtimes/pg-autoctl-core.mjs').MonitorNode[]} */
      let last = []
      await waitFor(
        async () => {
          if (!(await runtime.acceptsSql(node)) || (await archiveSettings(node)).mode !== 'on') return false
          last = await runtime.clusterNodes()
          return assessCluster(last, inventory.nodes.length).healthy
        },
        {
          timeoutMs: 120_000,
          what: `${node.nodeName} back with archive_mode on and the cluster healthy`,
          lastSeen: () => describeNodes(last),
        },
      )
      return { changed: true, detail: 'Postgres restarted by its keeper; archive_mode on; cluster healthy' }
    })
  }

  async function stanzaSteps() {
    await progress.step('backup: stanza', repoHost.host, async () => {
      const before = await pgbackrest(repoHost, BACKUP_FILES.repoConf, ['--output=json', 'info'])
      const [stanza] = JSON.parse(before.stdout)
      if (stanza?.status?.code === 0 || stanza?.status?.code === 2) return { changed: false, detail: `stanza ${backup.stanza} exists` }
      await onRepo(['stanza-create'])
      return {
        changed: true,
        detail: `created stanza ${backup.stanza} in ${backup.s3 ? `s3://${backup.s3.bucket}${backup.repoPath}` : backup.repoPath}`,
      }
    })
  }

  async function checkStep() {
    await progress.step('backup: check', repoHost.host, async () => {
      const { skipped } = await onRepo(['check'])
      return {
        changed: false,
        detail: `pgbackrest check passed: the primary archives to the repository, ${skipped.length ? `the nodes answer (left out, failing per the monitor: ${skipped.join(', ')})` : 'every node answers'}`,
      }
    })
  }

  return {
    backup,
    repoHost,
    serverHosts,
    pgbackrest,
    onRepo,
    info,
    hostSteps,
    archivingSteps,
    stanzaSteps,
    checkStep,
    archiveSettings,
    quote,
  }
}

/**
 * The part of `pgbackrest info --output=json` (one stanza) the scripts read.
 * @typedef {object} PgbackrestInfo
 * @property {string} name
 * @property {{code: number, message: string}} status
 * @property {Array<{id: string, min: string | null, max: string | null}>} archive
 * @property {PgbackrestBackup[]} backup
 */
/**
 * @typedef {object} PgbackrestBackup
 * @property {string} label
 * @property {string} type full, diff or incr
 * @property {{start: number, stop: number}} timestamp epoch seconds
 * @property {{start: string, stop: string}} archive the WAL the backup needs
 * @property {{start: string, stop: string}} lsn
 * @property {{delta: number, size: number, repository: {delta: number, size: number}}} info bytes
 * @property {string | null} prior
 */
