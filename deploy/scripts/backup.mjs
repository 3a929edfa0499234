#!/usr/bin/env node
// backup: pgBackRest backups of the cluster, to the repository host of the inventory's group
// "backup" (backup-config.mjs).
//
//   --setup   installs and configures pgBackRest on every data node and the repository host:
//             TLS certificates, configuration, `pgbackrest server`, archive_mode and
//             archive_command on every node (restarting each, standbys first, the primary only
//             after a planned switchover), the stanza first, then `pgbackrest check`. Re-running changes
//             nothing. Separate from bring-up so that a running cluster can get backups, and a
//             cluster without a group "backup" never runs any of it.
//   (default) takes a backup (--type full|diff|incr, default incr: pgBackRest makes it a full one
//             when there is none yet), from a standby when the monitor reports a healthy one
//             (backup-standby: the primary only serves the start and stop calls), and prints it
//   --list    the backups and the recoverable window
//   --check   `pgbackrest check`: the current primary archives, the repository answers
// Exit 0 done, 1 failed, 2 bad input (nothing changed).
// usage: backup.mjs --inventory <file> [--setup | --list | --check | --type full|diff|incr] [--json] [--private-data-dir <dir> [--ident <id>]]
import { createBackupTools } from './lib/backup-steps.mjs'
import { gapText, readArchiveGap } from './lib/backup-status.mjs'
import { roleOf } from './lib/cluster-health.mjs'
import { settledIn } from './lib/day2.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: backup.mjs --inventory <file> [--setup | --list | --check | --type full|diff|incr]'
const TYPES = ['full', 'diff', 'incr']

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const modes = ['setup', 'list', 'check'].filter((m) => args[m])
  if (modes.length > 1) throw new InputError(`give at most one of --setup, --list, --check; ${USAGE}`)
  if (args.type !== undefined && (modes.length > 0 || !TYPES.includes(args.type)))
    throw new InputError(`--type takes ${TYPES.join(', ')} and goes with a backup only; ${USAGE}`)
  const ctx = await loadContext()
  const { inventory, transport, runtime } = ctx
  const tools = createBackupTools({ ...ctx, progress })
  const hosts = [inventory.monitor, ...inventory.nodes, tools.repoHost]

  // --list is a report (one JSON document with --json), not a run of steps.
  if (args.list) await transport.ensureReachable([tools.repoHost])
  else {
    await progress.step('hosts reachable', undefined, async () => {
      await transport.ensureReachable(hosts)
      return {
        changed: false,
        detail: `${inventory.nodes.length} data nodes and repository host ${tools.repoHost.host} over ${transport.name}`,
      }
    })
  }

  if (args.setup) {
    await tools.hostSteps()
    await tools.stanzaSteps()
    await tools.archivingSteps()
    await tools.checkStep()
    progress.info(
      'done',
      `pgBackRest set up: stanza ${tools.backup.stanza}, repository on ${tools.repoHost.host} (${(progress.elapsedMs() / 1000).toFixed(1)} s)`,
    )
    return 0
  }
  if (args.check) {
    await tools.checkStep()
    return 0
  }
  if (args.list) {
    const info = await tools.info()
    const window = recoverableWindow(info)
    // A gap in the archive since the last backup: targets past it are out of reach until the next.
    const gap = await readArchiveGap(ctx, info)
    if (args.json) {
      process.stdout.write(
        JSON.stringify(
          { stanza: info.name, status: info.status, window, archive_gap: gap, backups: info.backup, archive: info.archive },
          null,
          2,
        ) + '\n',
      )
    } else {
      process.stdout.write(backupsTable(info))
      process.stdout.write(
        window
          ? `recoverable: from ${window.from} (end of ${window.oldest}) to the last archived WAL ${window.lastWal}\n`
          : 'recoverable: nothing yet (no backup)\n',
      )
      if (gap) process.stdout.write(`  except: ${gapText(gap)}\n`)
    }
    return 0
  }

  // A backup: from a standby when one is healthy.
  const nodes = await runtime.clusterNodes()
  const standby = nodes.find((n) => roleOf(n) === 'secondary' && settledIn(n, ['secondary']))
  const type = args.type ?? 'incr'
  const before = new Set((await tools.info()).backup?.map((b) => b.label) ?? [])
  await progress.step('backup', tools.repoHost.host, async () => {
    const { skipped } = await tools.onRepo([`--type=${type}`, `--backup-standby=${standby ? 'y' : 'n'}`, 'backup'])
    const taken = (await tools.info()).backup.filter((b) => !before.has(b.label)).at(-1)
    if (!taken) throw new Error('pgbackrest backup succeeded but info lists no new backup')
    const seconds = taken.timestamp.stop - taken.timestamp.start
    return {
      changed: true,
      detail: `${taken.label} (${taken.type}${taken.type === type ? '' : `, ${type} asked: pgBackRest needs a full one first`}) from ${standby ? `standby ${standby.name}` : 'the primary (no healthy standby)'}: ${mb(taken.info.size)} of data, ${mb(taken.info.repository.delta)} stored, ${seconds} s, WAL ${taken.archive.start}..${taken.archive.stop}${skipped.length ? `; left out, failing per the monitor: ${skipped.join(', ')}` : ''}`,
    }
  })
  return 0
}

/** @param {number} bytes */
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
/** @param {number} epoch */
const iso = (epoch) => new Date(epoch * 1000).toISOString()

/**
 * From the end of the oldest backup (the earliest time a restore can reach) to the last archived
 * WAL segment. @param {import('./lib/backup-steps.mjs').PgbackrestInfo} info
 */
function recoverableWindow(info) {
  const oldest = info.backup?.[0]
  if (!oldest) return null
  const lastWal =
    info.archive
      ?.map((a) => a.max)
      .filter(Boolean)
      .sort()
      .at(-1) ?? oldest.archive.stop
  return { from: iso(oldest.timestamp.stop), oldest: oldest.label, lastWal }
}

/** @param {import('./lib/backup-steps.mjs').PgbackrestInfo} info */
function backupsTable(info) {
  const rows = [['Label', 'Type', 'Started', 'Took', 'Size', 'Stored', 'WAL']]
  for (const b of info.backup ?? []) {
    rows.push([
      b.label,
      b.type,
      iso(b.timestamp.start),
      `${b.timestamp.stop - b.timestamp.start} s`,
      mb(b.info.size),
      mb(b.info.repository.delta),
      `${b.archive.start}..${b.archive.stop}`,
    ])
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length))) ?? []
  return (
    `stanza ${info.name}: ${info.status.message}\n` +
    rows
      .map((r) =>
        r
          .map((c, i) => String(c).padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') +
    '\n'
  )
}

await runClusterScript({ name: 'backup', usage: USAGE, string: ['type'], boolean: ['setup', 'list', 'check'], main })
