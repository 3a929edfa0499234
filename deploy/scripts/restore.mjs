#!/usr/bin/env node
// restore: point-in-time recovery from the pgBackRest repository into a scratch data directory
// on one host of the inventory, started as a standalone server beside the cluster (never over a
// cluster node, never archiving into the cluster's stanza), for an operator to read from.
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
// usage: restore.mjs --inventory <file> (--target-time <ISO time> | --target-lsn <lsn> | --latest) --into <host> [--pgdata <dir>] [--port <n>]
import { BACKUP_FILES } from './lib/backup-config.mjs'
import { backupOf, createBackupTools } from './lib/backup-steps.mjs'
import { tcpPortOption } from '../lib/cli-options.mjs'
import { InputError } from '../lib/errors.mjs'
import { shellQuote as quote } from '../lib/shell.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE =
  'usage: restore.mjs --inventory <file> (--target-time <ISO time> | --target-lsn <lsn> | --latest) --into <host> [--pgdata <dir>] [--port <n>]'
const RESTORE_ROOT = '/var/lib/postgresql/.pgha/restore'
const FIRST_PORT = 5440
const LAST_PORT = 5499

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const targets = ['target-time', 'target-lsn', 'latest'].filter((k) => args[k] !== undefined && args[k] !== false)
  if (targets.length !== 1) throw new InputError(`give exactly one of --target-time, --target-lsn, --latest; ${USAGE}`)
  /** @type {number | undefined} epoch ms */
  let targetTime
  if (args['target-time'] !== undefined) {
    const text = String(args['target-time'])
    // An ISO time with its offset: Postgres and this script must read it as the same instant.
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/.test(text) || Number.isNaN(Date.parse(text)))
      throw new InputError(`--target-time "${text}" is not an ISO time with a UTC offset, such as 2026-12-02T21:30:00Z`)
    targetTime = Date.parse(text)
    if (targetTime > Date.now())
      throw new InputError(`--target-time ${text} is in the future: nothing is archived there yet (use --latest)`)
  }
  if (args['target-lsn'] !== undefined && !/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i.test(String(args['target-lsn'])))
    throw new InputError(`--target-lsn "${args['target-lsn']}" is not an LSN such as 0/3000060`)
  if (!args.into) throw new InputError(`--into is required (the inventory host to restore on); ${USAGE}`)
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
  // Never a cluster node's data directory, nor one inside or around it.
  for (const host of [...inventory.nodes, inventory.monitor].filter((h) => h.address === into.address)) {
    const inside = (/** @type {string} */ a, /** @type {string} */ b) => a === b || a.startsWith(`${b}/`)
    if (inside(pgdata, host.pgdata) || inside(host.pgdata, pgdata)) {
      const what = host.role === 'monitor' ? 'the monitor' : `cluster node ${host.nodeName}`
      const running = await runtime.acceptsSql(host).catch(() => false)
      throw new InputError(
        `--pgdata ${pgdata} is ${pgdata === host.pgdata ? '' : 'inside or around '}the data directory of ${what} on ${into.host}${running ? ' (running)' : ''}: restore into a scratch directory (leave out --pgdata)`,
      )
    }
  }
  const resetRepoPg = nodeThere ? [] : ['--reset-pg1-host']
  /** @param {string[]} extra */
  const pgbackrestOn = (extra, options = {}) => tools.pgbackrest(into, config, [...resetRepoPg, ...extra], options)

  await progress.step('hosts reachable', undefined, async () => {
    await transport.ensureReachable([into])
    return { changed: false, detail: `${into.host} over ${transport.name}` }
  })

  // Checked from the target host, as the restore will reach it; a failure is bad input (exit 2).
  /** @type {import('./lib/backup-steps.mjs').PgbackrestInfo} */
  let info
  {
    // A short I/O timeout: a repository that does not answer in seconds will not for a restore.
    const out = await pgbackrestOn(['--output=json', '--io-timeout=3', 'info'], { allowFailure: true })
    const parsed = out.exitCode === 0 ? JSON.parse(out.stdout)?.[0] : undefined
    /** @type {string | undefined} */
    const repoProblem = parsed?.repo?.find((/** @type {{status?: {code: number}}} */ r) => r.status?.code !== 0)?.status?.message
    const reason =
      out.exitCode !== 0
        ? (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-2).join(' | ')
        : (repoProblem ?? parsed?.status?.message)
    if (!parsed || ![0, 2].includes(parsed.status?.code))
      throw new InputError(
        `the repository on ${backup.repoHost.host} (${backup.repoHost.address}:${backup.tlsPort}, stanza ${backup.stanza}) cannot be read from ${into.host}: ${reason}`,
      )
    info = parsed
  }
  const oldest = info.backup?.[0]
  if (!oldest) throw new InputError(`stanza ${backup.stanza} has no backup yet: take one with backup.mjs --inventory ${inventory.file}`)
  if (targetTime !== undefined && targetTime < oldest.timestamp.stop * 1000) {
    throw new InputError(
      `--target-time ${args['target-time']} is before the end of the oldest backup ${oldest.label} (${new Date(oldest.timestamp.stop * 1000).toISOString()}): nothing can be restored to it`,
    )
  }
  if (args['target-lsn'] !== undefined && oldest.lsn && lsnValue(String(args['target-lsn'])) < lsnValue(oldest.lsn.stop)) {
    throw new InputError(
      `--target-lsn ${args['target-lsn']} is before the end of the oldest backup ${oldest.label} (LSN ${oldest.lsn.stop})`,
    )
  }

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

  await progress.step('scratch directory', into.host, async () => {
    const out = await runtime.pg(into, ['sh', '-c', `test ! -e ${quote(pgdata)} || test -z "$(ls -A ${quote(pgdata)})"`], {
      allowFailure: true,
    })
    if (out.exitCode !== 0) throw new InputError(`--pgdata ${pgdata} on ${into.host} exists and is not empty`)
    await runtime.pg(into, ['mkdir', '-p', '-m', '0700', pgdata])
    return { changed: true, detail: `${pgdata} (empty, 0700)` }
  })

  const target =
    args['target-time'] !== undefined
      ? ['--type=time', `--target=${new Date(/** @type {number} */ (targetTime)).toISOString().replace('T', ' ').replace('Z', '+00')}`]
      : args['target-lsn'] !== undefined
        ? ['--type=lsn', `--target=${args['target-lsn']}`]
        : ['--type=default']
  await progress.step('pgbackrest restore', into.host, async () => {
    // --latest has no target: recovery ends, and the server promotes, at the end of the archive.
    const action = args.latest ? [] : ['--target-action=promote']
    const out = await pgbackrestOn([`--pg1-path=${pgdata}`, ...target, ...action, '--archive-mode=off', 'restore'], { allowFailure: true })
    if (out.exitCode !== 0) {
      // The directory this run created goes again, so a failed restore leaves nothing behind.
      await runtime.pg(into, ['rm', '-rf', pgdata])
      throw new Error(`pgbackrest restore failed: ${(out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join(' | ')}`)
    }
    return { changed: true, detail: `${target.join(' ')} into ${pgdata} (archive_mode off: it never archives into the cluster's stanza)` }
  })

  /** The restored server's log, last lines. */
  // What the restored server's log says about how recovery went: its FATAL and recovery lines.
  const logTail = async () => {
    const log = `ls -t ${quote(pgdata)}/log/*.log 2>/dev/null | head -n 1`
    const out = await runtime.pg(
      into,
      [
        'sh',
        '-c',
        `f=$(${log}); cat ${quote(pgdata)}/restore.log "\${f:-/dev/null}" 2>/dev/null | grep -E 'FATAL|PANIC|last completed transaction|recovery stopping' | tail -n 4`,
      ],
      { allowFailure: true },
    )
    return out.stdout.trim().split('\n').join(' | ') || '(nothing in its log)'
  }
  const pgdataQuoted = quote(pgdata)

  await progress.step('start', into.host, async () => {
    // Standalone: no streaming from the cluster, whatever pg_autoctl's included files say.
    const options = `-p ${restorePort} -c archive_mode=off -c primary_conninfo= -c primary_slot_name= -c cluster_name=restore`
    const out = await runtime.pg(into, ['pg_ctl', 'start', '-D', pgdata, '-w', '-t', '300', '-l', `${pgdata}/restore.log`, '-o', options], {
      allowFailure: true,
    })
    /** @param {string} what */
    const failed = async (what) => {
      const log = await logTail()
      // Nothing of it is usable: the scratch directory goes, so a re-run starts clean.
      await runtime.pg(into, ['sh', '-c', `pg_ctl stop -D ${pgdataQuoted} -m immediate >/dev/null 2>&1; rm -rf ${pgdataQuoted}`], {
        allowFailure: true,
      })
      const hint = /recovery ended before configured recovery target/.test(log)
        ? ' The archive ends before the target: give an earlier time, or --latest.'
        : ''
      return new Error(`${what}: ${log}.${hint} Removed ${pgdata}.`)
    }
    if (out.exitCode !== 0) throw await failed('Postgres did not start')
    // pg_ctl returns once the server takes read-only connections, while recovery still runs.
    const deadline = Date.now() + 300_000
    for (;;) {
      const status = await runtime.pg(into, ['pg_ctl', 'status', '-D', pgdata], { allowFailure: true })
      if (status.exitCode !== 0) throw await failed('recovery failed, Postgres stopped')
      const [row] = await runtime.sqlJson({ ...into, port: restorePort }, 'select pg_is_in_recovery() as recovering').catch(() => [])
      if (row && !row.recovering) break
      if (Date.now() > deadline) throw await failed('still recovering after 300 s')
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    return {
      changed: true,
      detail: `running on ${into.address}:${restorePort}, promoted ${args.latest ? 'at the end of the archive' : 'at the target'}`,
    }
  })

  const reach = {
    host: into.host,
    address: into.address,
    port: restorePort,
    pgdata,
    app: `psql "host=${into.address} port=${restorePort} dbname=${inventory.dbname} user=${inventory.appUser}"`,
    superuser: `on ${into.host} as postgres: psql -h /var/run/postgresql -p ${restorePort} -d ${inventory.dbname}`,
    stop: `on ${into.host} as postgres: pg_ctl stop -D ${pgdata} -m fast && rm -rf ${pgdata}`,
  }
  progress.info(
    'done',
    `restored to ${args.latest ? 'the end of the archive' : target[1]?.replace('--target=', '')} in ${(progress.elapsedMs() / 1000).toFixed(1)} s; ` +
      `reach it with ${reach.app} (the application's password as of the target), or ${reach.superuser}; ` +
      `remove it with ${reach.stop}`,
    { restore: reach },
  )
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
  boolean: ['latest'],
  main,
})
