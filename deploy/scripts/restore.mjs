#!/usr/bin/env node
// restore: point-in-time recovery from the pgBackRest repository, either into a scratch data
// directory on one host of the inventory, started as a standalone server beside the cluster
// (never archiving into the cluster's stanza), for an operator to read from; with --yes and
// --pgdata naming a data node's own data directory, the same over that node once it is out of
// the cluster (stopped and dropped from the formation); or, with --promote-as-cluster, into the
// first data node's own data directory after the whole cluster is lost, as the seed bring-up
// makes a new cluster from.
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, nothing changed)
//        2. from the target host: the repository answers, and the target lies inside what it can
//           recover (after the end of the oldest backup, not in the future); otherwise exit 2
//        3. a WAL switch on the primary, archived (when the cluster is up), so the newest writes
//           are in the archive; then pgbackrest restore into the scratch directory (archive_mode off, promote at the
//           target; pgBackRest picks the newest backup before the target, and follows the
//           latest timeline, so a target after a failover is reached through it)
//        4. start Postgres there on a free port, wait until it has reached the target and
//           accepts writes, and print how to reach it, stop it and remove it
// --yes --pgdata <node N's data directory>: 2. N is out of the cluster (its Postgres and keeper
//        stopped, the monitor answers and does not list it; otherwise exit 2); 3. N's keeper
//        service and pg_autoctl files removed, its data directory emptied, then the restore as
//        above; 4. as above, and rejoin.mjs is printed as the way back into the cluster.
// --promote-as-cluster (with --yes): 2. every data node is gone (none answers, every data
//        directory empty) and the monitor, if it runs, lists no node; pgBackRest's files on the
//        data nodes and the repository host (as backup.mjs --setup writes them); 3. pgbackrest
//        restore into the first data node's data directory (archiving kept: its new timeline
//        goes to the stanza); 4. Postgres started there alone until promoted at the target, the
//        restore's recovery settings removed, stopped cleanly; then bringup.mjs makes the cluster
//        from it (printed, not run: the next command is the operator's).
// usage: restore.mjs --inventory <file> (--target-time <ISO time> | --target-lsn <lsn> | --latest) (--into <host> [--pgdata <dir> [--yes]] [--port <n>] | --promote-as-cluster --yes)
import { BACKUP_FILES } from './lib/backup-config.mjs'
import { backupOf, createBackupTools } from './lib/backup-steps.mjs'
import { tcpPortOption } from '../lib/cli-options.mjs'
import { InputError } from '../lib/errors.mjs'
import { shellQuote as quote } from '../lib/shell.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE =
  'usage: restore.mjs --inventory <file> (--target-time <ISO time> | --target-lsn <lsn> | --latest) (--into <host> [--pgdata <dir> [--yes]] [--port <n>] | --promote-as-cluster --yes)'
const RESTORE_ROOT = '/var/lib/postgresql/.pgha/restore'
const FIRST_PORT = 5440
const LAST_PORT = 5499

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const target = parseTarget(args)
  if (args['promote-as-cluster']) return promoteAsCluster({ args, progress, loadContext, target })
  if (!args.into) throw new InputError(`--into is required (the inventory host to restore on); ${USAGE}`)
  // --yes confirms one thing only: replacing a node's data. A scratch restore needs no
  // confirmation, and a --yes that confirms nothing (a mistyped --pgdata) must not pass silently.
  if (args.yes && args.pgdata === undefined)
    throw new InputError(
      `--yes goes with --pgdata <a data node's data directory> (a restore over a node that is out of the cluster) or with --promote-as-cluster; a scratch restore needs no --yes`,
    )
  const port = tcpPortOption(args.port, '--port')

  const ctx = await loadContext()
  const { inventory, transport, runtime } = ctx
  const backup = backupOf(inventory)
  const tools = createBackupTools({ ...ctx, progress })
  const candidates = [...inventory.nodes, backup.repoHost, inventory.monitor]
  const into = candidates.find((h) => h.host === args.into)
  if (!into)
    throw new InputError(`--into "${args.into}" is not a host of the inventory (${[...new Set(candidates.map((h) => h.host))].join(', ')})`)
  // A data node's address has node.conf (the repository over TLS); the repository host has the
  // repository itself. Any other host has no pgBackRest configuration.
  const nodeThere = inventory.nodes.some((n) => n.address === into.address)
  if (!nodeThere && into.address !== backup.repoHost.address)
    throw new InputError(`--into ${into.host} runs no pgBackRest (backup.mjs --setup configures the data nodes and the repository host)`)
  const config = nodeThere ? BACKUP_FILES.nodeConf : BACKUP_FILES.repoConf
  const pgdata = String(args.pgdata ?? `${RESTORE_ROOT}/${backup.stanza}-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`)
  if (!/^\/[A-Za-z0-9_./-]+$/.test(pgdata) || pgdata.split('/').includes('..'))
    throw new InputError(`--pgdata "${pgdata}" must be an absolute path without ".."`)
  // Never the monitor's data directory, nor one inside or around a node's or the monitor's; a
  // node's own data directory only with --yes, and only once the node is out of the cluster.
  const hostsThere = [...inventory.nodes, inventory.monitor].filter((h) => h.address === into.address)
  const inside = (/** @type {string} */ a, /** @type {string} */ b) => a === b || a.startsWith(`${b}/`)
  /** The data node whose own data directory --yes restores over. */
  const overNode = args.yes ? hostsThere.find((h) => h.role === 'node' && h.pgdata === pgdata) : undefined
  for (const host of hostsThere) {
    if (host === overNode || !(inside(pgdata, host.pgdata) || inside(host.pgdata, pgdata))) continue
    const what = host.role === 'monitor' ? 'the monitor' : `cluster node ${host.nodeName}`
    const running = await runtime.acceptsSql(host).catch(() => false)
    const instead =
      host.role === 'monitor'
        ? 'a restore never goes over the monitor; restore into a scratch directory (leave out --pgdata)'
        : pgdata === host.pgdata
          ? `restore into a scratch directory (leave out --pgdata), or over ${host.nodeName} with --yes once it is out of the cluster`
          : `restore into a scratch directory (leave out --pgdata); --yes restores over a node's data directory itself only`
    throw new InputError(
      `--pgdata ${pgdata} is ${pgdata === host.pgdata ? '' : 'inside or around '}the data directory of ${what} on ${into.host}${running ? ' (running)' : ''}: ${instead}`,
    )
  }
  if (args.yes && !overNode) {
    const nodesThere = hostsThere.filter((h) => h.role === 'node').map((h) => `${h.nodeName}: ${h.pgdata}`)
    throw new InputError(
      `--yes restores over the data directory of a node that is out of the cluster, and --pgdata ${pgdata} is none on ${into.host} (${nodesThere.join(', ') || 'no data node there'}): leave out --yes to restore into it as a scratch directory`,
    )
  }
  const resetRepoPg = nodeThere ? [] : ['--reset-pg1-host']
  /** @param {string[]} extra */
  const pgbackrestOn = (extra, options = {}) => tools.pgbackrest(into, config, [...resetRepoPg, ...extra], options)

  await progress.step('hosts reachable', undefined, async () => {
    await transport.ensureReachable([into])
    return { changed: false, detail: `${into.host} over ${transport.name}` }
  })

  if (overNode)
    await progress.step(`${overNode.nodeName}: out of the cluster`, overNode.host, async () => {
      await refuseUnlessOut(runtime, inventory, overNode)
      return { changed: false, detail: `Postgres and keeper stopped; the monitor does not list ${overNode.nodeName}` }
    })

  await checkRepository(pgbackrestOn, backup, into, target, inventory.file)

  // WAL written since the last segment switch is not in the archive yet, and a time target
  // needs a record after it to stop at: a WAL switch on the primary, archived before restoring
  // (pgbackrest check does both). A cluster that is gone has archived what it could already.
  await progress.step('archive the current WAL', backup.repoHost.host, async () => {
    const out = await tools.onRepo(['check'], { allowFailure: true })
    if (out.exitCode === 0) return { changed: true, detail: "the primary's current WAL segment switched and archived" }
    return {
      changed: false,
      detail: `not possible (${(out.stderr.trim() || out.stdout.trim()).split('\n').at(-1)}): restoring from what is archived`,
    }
  })

  let restorePort = 0
  await progress.step('port', into.host, async () => {
    const wanted = port === undefined ? `$(seq ${FIRST_PORT} ${LAST_PORT})` : String(port)
    // Neither a TCP listener in the host nor a socket file of another server on it.
    const script = `for p in ${wanted}; do if ! ss -Hltn "sport = :$p" | grep -q . && ! test -e /var/run/postgresql/.s.PGSQL.$p; then echo "$p"; exit 0; fi; done; exit 1`
    const out = await runtime.pg(into, ['sh', '-c', script], { allowFailure: true })
    if (out.exitCode !== 0)
      throw new InputError(
        port === undefined ? `no free port in ${FIRST_PORT}-${LAST_PORT} on ${into.host}` : `port ${port} is in use on ${into.host}`,
      )
    restorePort = Number(out.stdout.trim())
    return { changed: false, detail: `port ${restorePort} free` }
  })

  if (overNode)
    await progress.step(`${overNode.nodeName}: data directory`, overNode.host, async () => {
      // Again right before deleting: a keeper or Postgres started since the first check wins.
      await refuseUnlessOut(runtime, inventory, overNode)
      // The whole directory goes, rather than a pgBackRest --delta over it: the restored server
      // is then exactly what a scratch restore gives, with nothing of the node's left (pg_autoctl's
      // settings, standby.signal, a postmaster.pid a crash left, which --delta refuses). With it go
      // pg_autoctl's files for that directory and the keeper's service: they describe a
      // registration the monitor has dropped, and a keeper started again (by the service manager,
      // at the next boot) would run that dropped node over the restored server, or register it
      // into the formation with data that left the cluster's history. rejoin.mjs makes them anew.
      await runtime.removeService(overNode)
      await runtime.destroyData(overNode)
      await runtime.pg(overNode, ['mkdir', '-p', '-m', '0700', pgdata])
      return {
        changed: true,
        detail: `${runtime.serviceName(overNode)} removed, pg_autoctl's files for it deleted, ${pgdata} emptied (0700)`,
      }
    })
  else
    await progress.step('scratch directory', into.host, async () => {
      if (!(await isEmptyDir(runtime, into, pgdata))) throw new InputError(`--pgdata ${pgdata} on ${into.host} exists and is not empty`)
      await runtime.pg(into, ['mkdir', '-p', '-m', '0700', pgdata])
      return { changed: true, detail: `${pgdata} (empty, 0700)` }
    })

  await progress.step('pgbackrest restore', into.host, async () => {
    // --latest has no target: recovery ends, and the server promotes, at the end of the archive.
    const out = await pgbackrestOn([`--pg1-path=${pgdata}`, ...target.pgbackrest, '--archive-mode=off', 'restore'], { allowFailure: true })
    if (out.exitCode !== 0) {
      // The directory this run created goes again, so a failed restore leaves nothing behind.
      await runtime.pg(into, ['rm', '-rf', pgdata])
      throw new Error(`pgbackrest restore failed: ${(out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join(' | ')}`)
    }
    return {
      changed: true,
      detail: `${target.pgbackrest.join(' ')} into ${pgdata} (archive_mode off: it never archives into the cluster's stanza)`,
    }
  })

  await progress.step('start', into.host, async () => {
    await startUntilPromoted(runtime, into, pgdata, restorePort, ['-c archive_mode=off', '-c cluster_name=restore'])
    return { changed: true, detail: `running on ${into.address}:${restorePort}, promoted at ${target.label}` }
  })

  const reach = {
    host: into.host,
    address: into.address,
    port: restorePort,
    pgdata,
    app: `psql "host=${into.address} port=${restorePort} dbname=${inventory.dbname} user=${inventory.appUser}"`,
    superuser: `on ${into.host} as postgres: psql -h /var/run/postgresql -p ${restorePort} -d ${inventory.dbname}`,
    // pg_ctl by its full path: Debian puts it on no user's PATH. A node's directory stays for
    // rejoin.mjs, which deletes and rebuilds it.
    stop: `on ${into.host} as postgres: ${quote(`${inventory.pgBindir}/pg_ctl`)} stop -D ${pgdata} -m fast${overNode ? '' : ` && rm -rf ${pgdata}`}`,
    ...(overNode && {
      node: overNode.nodeName,
      rejoin: `node deploy/scripts/rejoin.mjs --inventory ${inventory.file} --node ${overNode.nodeName} --yes`,
    }),
  }
  progress.info(
    'done',
    `restored to ${target.label} in ${(progress.elapsedMs() / 1000).toFixed(1)} s; ` +
      `reach it with ${reach.app} (the application's password as of the target), or ${reach.superuser}; ` +
      (reach.rejoin
        ? `stop it with ${reach.stop}; ${reach.node} is out of the cluster until it is rebuilt from the primary with ${reach.rejoin} (this replaces the restored data)`
        : `remove it with ${reach.stop}`),
    { restore: reach },
  )
}

/**
 * Refuses (exit 2) unless `node` is out of the cluster: its Postgres not running, its keeper not
 * running, and the monitor answering without listing it. A monitor that does not answer cannot
 * prove the node was dropped, so that refuses too.
 * @param {import('./lib/runtimes/runtime.mjs').Runtime} runtime @param {import('./lib/inventory.mjs').Inventory} inventory
 * @param {import('./lib/inventory.mjs').InventoryHost} node
 */
async function refuseUnlessOut(runtime, inventory, node) {
  const pgdata = quote(node.pgdata)
  /** @type {string[]} */
  const ties = []
  if (await runtime.acceptsSql(node).catch(() => false)) ties.push(`its Postgres accepts connections`)
  else if ((await runtime.pg(node, ['pg_ctl', 'status', '-D', node.pgdata], { allowFailure: true })).exitCode === 0)
    ties.push(`its Postgres runs`)
  // The kit's service, or a keeper started by hand: pg_autoctl's pid file names a live pg_autoctl.
  const byHand = await runtime.pg(
    node,
    [
      'sh',
      '-c',
      `f=$(pg_autoctl show file --pid --pgdata ${pgdata} 2>/dev/null) && p=$(head -n 1 "$f" 2>/dev/null) && test -n "$p" && tr '\\0' ' ' < /proc/"$p"/cmdline 2>/dev/null | grep -q pg_autoctl`,
    ],
    { allowFailure: true },
  )
  if ((await runtime.isRunning(node).catch(() => false)) || byHand.exitCode === 0)
    ties.push(`its keeper runs (${runtime.serviceName(node)})`)
  /** @type {import('./lib/runtimes/pg-autoctl-core.mjs').MonitorNode[] | undefined} */
  let listed
  try {
    listed = await runtime.clusterNodes()
  } catch {
    ties.push(
      `the monitor on ${inventory.monitor.host} (${inventory.monitor.address}:${inventory.monitor.port}) does not answer, so nothing shows it was dropped from the formation`,
    )
  }
  const row = listed?.find((n) => n.name === node.nodeName || (n.host === node.address && Number(n.port) === node.port))
  if (row)
    ties.push(
      `the monitor lists it as ${row.reported_state}${row.assigned_state === row.reported_state ? '' : ` (assigned ${row.assigned_state})`}`,
    )
  if (ties.length > 0)
    throw new InputError(
      `${node.nodeName} on ${node.host} (${node.address}:${node.port}) is not out of the cluster: ${ties.join('; ')}. ` +
        `--yes restores over a node only once it is stopped (its keeper service ${runtime.serviceName(node)}) and dropped from the formation ` +
        `(on the monitor: pg_autoctl drop node --pgdata ${inventory.monitor.pgdata} --hostname ${node.address} --pgport ${node.port} --force); nothing changed`,
    )
}

/**
 * @typedef {object} RestoreTarget
 * @property {number} [time] epoch ms (--target-time)
 * @property {string} [timeText] --target-time as given
 * @property {string} [lsn] (--target-lsn)
 * @property {string[]} pgbackrest pgbackrest restore's options for it
 * @property {string} label for messages
 */

/** One of --target-time, --target-lsn, --latest, validated. @param {Record<string, any>} args @returns {RestoreTarget} */
function parseTarget(args) {
  const given = ['target-time', 'target-lsn', 'latest'].filter((k) => args[k] !== undefined && args[k] !== false)
  if (given.length !== 1) throw new InputError(`give exactly one of --target-time, --target-lsn, --latest; ${USAGE}`)
  if (args['target-time'] !== undefined) {
    const text = String(args['target-time'])
    // An ISO time with its offset: Postgres and this script must read it as the same instant.
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/.test(text) || Number.isNaN(Date.parse(text)))
      throw new InputError(`--target-time "${text}" is not an ISO time with a UTC offset, such as 2026-12-02T21:30:00Z`)
    const time = Date.parse(text)
    if (time > Date.now()) throw new InputError(`--target-time ${text} is in the future: nothing is archived there yet (use --latest)`)
    const at = new Date(time).toISOString().replace('T', ' ').replace('Z', '+00')
    return { time, timeText: text, pgbackrest: ['--type=time', `--target=${at}`, '--target-action=promote'], label: at }
  }
  if (args['target-lsn'] !== undefined) {
    const lsn = String(args['target-lsn'])
    if (!/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(lsn)) throw new InputError(`--target-lsn "${lsn}" is not an LSN such as 0/3000060`)
    return { lsn, pgbackrest: ['--type=lsn', `--target=${lsn}`, '--target-action=promote'], label: `LSN ${lsn}` }
  }
  // No target: recovery ends, and the server promotes, at the end of the archive.
  return { pgbackrest: ['--type=default'], label: 'the end of the archive' }
}

/**
 * From the host that restores, as the restore will reach it: the repository answers and holds a
 * backup that ends before the target. Anything else is bad input (exit 2).
 * @param {(extra: string[], options?: {allowFailure?: boolean}) => Promise<{exitCode: number | null, stdout: string, stderr: string}>} pgbackrestOn
 * @param {import('./lib/backup-config.mjs').BackupSettings} backup @param {{host: string}} into
 * @param {RestoreTarget} target @param {string} inventoryFile
 */
async function checkRepository(pgbackrestOn, backup, into, target, inventoryFile) {
  // A short I/O timeout: a repository that does not answer in seconds will not for a restore.
  const out = await pgbackrestOn(['--output=json', '--io-timeout=3', 'info'], { allowFailure: true })
  /** @type {import('./lib/backup-steps.mjs').PgbackrestInfo | undefined} */
  const info = out.exitCode === 0 ? JSON.parse(out.stdout)?.[0] : undefined
  /** @type {string | undefined} */
  const repoProblem = /** @type {any} */ (info)?.repo?.find((/** @type {{status?: {code: number}}} */ r) => r.status?.code !== 0)?.status
    ?.message
  const reason =
    out.exitCode !== 0 ? (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-2).join(' | ') : (repoProblem ?? info?.status?.message)
  if (!info || ![0, 2].includes(info.status?.code))
    throw new InputError(
      `the repository on ${backup.repoHost.host} (${backup.repoHost.address}:${backup.tlsPort}, stanza ${backup.stanza}) cannot be read from ${into.host}: ${reason}`,
    )
  const oldest = info.backup?.[0]
  if (!oldest) throw new InputError(`stanza ${backup.stanza} has no backup yet: take one with backup.mjs --inventory ${inventoryFile}`)
  if (target.time !== undefined && target.time < oldest.timestamp.stop * 1000) {
    throw new InputError(
      `--target-time ${target.timeText} is before the end of the oldest backup ${oldest.label} (${new Date(oldest.timestamp.stop * 1000).toISOString()}): nothing can be restored to it`,
    )
  }
  if (target.lsn !== undefined && oldest.lsn && lsnValue(target.lsn) < lsnValue(oldest.lsn.stop)) {
    throw new InputError(`--target-lsn ${target.lsn} is before the end of the oldest backup ${oldest.label} (LSN ${oldest.lsn.stop})`)
  }
}

/**
 * Starts the restored data directory alone on `port` and waits until recovery has reached its
 * target and the server is promoted; on failure, stops it, removes the directory (nothing of it
 * is usable, and a re-run then starts clean) and throws with what its log says.
 * @param {import('./lib/runtimes/runtime.mjs').Runtime} runtime @param {import('./lib/inventory.mjs').InventoryHost} host
 * @param {string} pgdata @param {number} port @param {string[]} extraOptions postgres -c options
 */
async function startUntilPromoted(runtime, host, pgdata, port, extraOptions) {
  const pgdataQuoted = quote(pgdata)
  // What the server's log says about how recovery went: its FATAL and recovery lines.
  const logTail = async () => {
    const log = `ls -t ${pgdataQuoted}/log/*.log 2>/dev/null | head -n 1`
    const out = await runtime.pg(
      host,
      [
        'sh',
        '-c',
        `f=$(${log}); cat ${pgdataQuoted}/restore.log "\${f:-/dev/null}" 2>/dev/null | grep -E 'FATAL|PANIC|last completed transaction|recovery stopping' | tail -n 4`,
      ],
      { allowFailure: true },
    )
    return out.stdout.trim().split('\n').join(' | ') || '(nothing in its log)'
  }
  /** @param {string} what */
  const failed = async (what) => {
    const log = await logTail()
    await runtime.pg(host, ['sh', '-c', `pg_ctl stop -D ${pgdataQuoted} -m immediate >/dev/null 2>&1; rm -rf ${pgdataQuoted}`], {
      allowFailure: true,
    })
    const hint = /recovery ended before configured recovery target/.test(log)
      ? ' The archive ends before the target: give an earlier time, or --latest.'
      : ''
    return new Error(`${what}: ${log}.${hint} Removed ${pgdata}.`)
  }
  // Never streaming from a cluster node, whatever pg_autoctl's included files say.
  const options = [`-p ${port}`, '-c primary_conninfo=', '-c primary_slot_name=', ...extraOptions].join(' ')
  const out = await runtime.pg(host, ['pg_ctl', 'start', '-D', pgdata, '-w', '-t', '300', '-l', `${pgdata}/restore.log`, '-o', options], {
    allowFailure: true,
  })
  if (out.exitCode !== 0) throw await failed('Postgres did not start')
  // pg_ctl returns once the server takes read-only connections, while recovery still runs.
  const deadline = Date.now() + 300_000
  for (;;) {
    const status = await runtime.pg(host, ['pg_ctl', 'status', '-D', pgdata], { allowFailure: true })
    if (status.exitCode !== 0) throw await failed('recovery failed, Postgres stopped')
    const [row] = await runtime.sqlJson({ ...host, port }, 'select pg_is_in_recovery() as recovering').catch(() => [])
    if (row && !row.recovering) return
    if (Date.now() > deadline) throw await failed('still recovering after 300 s')
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/**
 * --promote-as-cluster: every node lost, the first data node's data directory restored from the
 * repository and promoted at the target, as the seed of a new cluster that bring-up then makes.
 * @param {{args: Record<string, any>, progress: import('./lib/script-main.mjs').ScriptRun['progress'], loadContext: import('./lib/script-main.mjs').ScriptRun['loadContext'], target: RestoreTarget}} run
 */
async function promoteAsCluster({ args, progress, loadContext, target }) {
  for (const option of ['into', 'pgdata', 'port'])
    if (args[option] !== undefined)
      throw new InputError(`--${option} does not go with --promote-as-cluster (it restores into the first data node's data directory)`)
  if (!args.yes) throw new InputError(`--promote-as-cluster writes the first data node's data directory; add --yes to confirm. ${USAGE}`)
  const ctx = await loadContext()
  const { inventory, transport, runtime } = ctx
  const tools = createBackupTools({ ...ctx, progress })
  const seed = /** @type {import('./lib/inventory.mjs').InventoryHost} */ (inventory.nodes[0])
  const hosts = [inventory.monitor, ...inventory.nodes, tools.repoHost]

  await progress.step('hosts reachable', undefined, async () => {
    await transport.ensureReachable(hosts)
    return { changed: false, detail: `${hosts.length} hosts over ${transport.name}` }
  })

  // Only a cluster that is gone: a running node, a data directory left or nodes the monitor
  // still lists would make a second cluster beside the first, or a node join the old one.
  await progress.step('cluster lost', undefined, async () => {
    for (const node of inventory.nodes) {
      if (await runtime.acceptsSql(node).catch(() => false))
        throw new InputError(
          `${node.nodeName} on ${node.host} (${node.address}:${node.port}) is running: --promote-as-cluster rebuilds a cluster that is lost; use restore.mjs --into for a copy beside it, or teardown.mjs first`,
        )
      if (!(await isEmptyDir(runtime, node, node.pgdata)))
        throw new InputError(
          `${node.nodeName}'s data directory ${node.pgdata} on ${node.host} is not empty: --promote-as-cluster rebuilds a cluster whose nodes are gone (teardown.mjs --yes removes them)`,
        )
    }
    if (await runtime.acceptsSql(inventory.monitor).catch(() => false)) {
      const listed = (await runtime.clusterNodes()).map((n) => n.name)
      if (listed.length > 0)
        throw new InputError(
          `the monitor on ${inventory.monitor.host} still lists ${listed.join(', ')}: a new node would join that formation; tear the cluster down first (teardown.mjs --yes)`,
        )
    }
    return { changed: false, detail: `no data node runs or has data; the monitor lists no node` }
  })

  // A replaced VM has none of pgBackRest's files: the ones backup.mjs --setup writes.
  await tools.hostSteps()

  /** @param {string[]} extra @param {{allowFailure?: boolean}} [options] */
  const pgbackrestOnSeed = (extra, options = {}) => tools.pgbackrest(seed, BACKUP_FILES.nodeConf, extra, options)
  await progress.step('repository', tools.repoHost.host, async () => {
    await checkRepository(pgbackrestOnSeed, tools.backup, seed, target, inventory.file)
    return { changed: false, detail: `stanza ${tools.backup.stanza} readable from ${seed.host}, a backup before the target` }
  })

  await progress.step('pgbackrest restore', seed.host, async () => {
    await runtime.pg(seed, ['mkdir', '-p', '-m', '0700', seed.pgdata])
    // archive_mode as backed up (on): the promoted seed pushes its new timeline to the stanza.
    const out = await pgbackrestOnSeed([`--pg1-path=${seed.pgdata}`, ...target.pgbackrest, 'restore'], { allowFailure: true })
    if (out.exitCode !== 0) {
      // It was empty or absent before: a re-run starts clean.
      await runtime.pg(seed, ['rm', '-rf', seed.pgdata])
      throw new Error(`pgbackrest restore failed: ${(out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join(' | ')}`)
    }
    return { changed: true, detail: `${target.pgbackrest.join(' ')} into ${seed.pgdata}` }
  })

  await progress.step('promote', seed.host, async () => {
    // ssl off while alone: the certificate files named by the restored settings may be gone with the VM.
    await startUntilPromoted(runtime, seed, seed.pgdata, seed.port, ['-c ssl=off'])
    // pgBackRest's recovery settings would hold the node at the target if it ever recovered again
    // (as a standby after a failover); pg_autoctl sets its own.
    const settings = [
      'restore_command',
      'recovery_target_time',
      'recovery_target_lsn',
      'recovery_target_action',
      'recovery_target_timeline',
    ]
    await runtime.sqlExec(seed, settings.map((name) => `alter system reset ${name};`).join('\n') + '\nselect pg_switch_wal();\n')
    await runtime.pg(seed, ['pg_ctl', 'stop', '-D', seed.pgdata, '-m', 'fast', '-w'])
    return { changed: true, detail: `promoted at ${target.label} on a new timeline, recovery settings removed, stopped cleanly` }
  })

  progress.info(
    'done',
    `${seed.nodeName}'s data directory holds the cluster as of ${target.label} (${(progress.elapsedMs() / 1000).toFixed(1)} s). ` +
      `Next: node deploy/scripts/bringup.mjs --inventory ${inventory.file} (the monitor, ${seed.nodeName} from this data, the other nodes rebuilt from it), ` +
      `then backup.mjs --inventory ${inventory.file} --setup and a full backup (backup.mjs --type full)`,
    { seed: { host: seed.host, node: seed.nodeName, pgdata: seed.pgdata, target: target.label } },
  )
}

/**
 * Is `dir` on the host absent or empty? @param {import('./lib/runtimes/runtime.mjs').Runtime} runtime
 * @param {import('./lib/inventory.mjs').InventoryHost} host @param {string} dir
 */
async function isEmptyDir(runtime, host, dir) {
  const out = await runtime.pg(host, ['sh', '-c', `test ! -e ${quote(dir)} || test -z "$(ls -A ${quote(dir)})"`], { allowFailure: true })
  return out.exitCode === 0
}

/** An LSN as a number, for comparisons. @param {string} lsn such as 16/B374D848 */
function lsnValue(lsn) {
  const [hi = '0', lo = '0'] = lsn.split('/')
  return parseInt(hi, 16) * 2 ** 32 + parseInt(lo, 16)
}

await runClusterScript({
  name: 'restore',
  usage: USAGE,
  string: ['target-time', 'target-lsn', 'into', 'pgdata', 'port'],
  boolean: ['latest', 'promote-as-cluster', 'yes'],
  main,
})
