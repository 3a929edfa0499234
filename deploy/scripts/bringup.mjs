#!/usr/bin/env node
// bringup: deploy a pg_auto_failover cluster from an Ansible-style inventory.
//
// Steps (each checks before it acts; re-running is safe and resumes after a failure):
//   1. validate the inventory and load/generate its secrets (exit 2 on bad input, no host touched)
//   2. hosts reachable; ~postgres/.pgpass on every host
//   3. monitor: create, harden pg_hba, start, autoctl_node password, failover profile
//   4. first node: create, keeper profile, pg_hba, start, wait until primary; replication password
//   5. each further node in turn: same, wait until secondary
//   6. verify: one primary, the rest secondaries, all healthy per the monitor; a primary on the
//      monitor's host moves to the healthy secondary elsewhere of highest candidate priority, when
//      one is higher than its own (pg_autoctl perform promotion; no change otherwise)
//   7. application role and database on the primary
//   8. print the application DSN (every node, target_session_attrs=read-write) and write it to the env file
//
// usage: bringup.mjs --inventory <file> [--ssl off|self-signed|ca] [--env-output <path>] [--show-password] [--check]
//                    [--json] [--private-data-dir <dir> [--ident <id>]]
// --ssl overrides the inventory's `ssl` variable (explicit option > inventory > default off).
// --check: a dry run. Prints every command a bring-up runs on hosts where nothing exists yet,
// step by step and host by host, in order; runs nothing and writes no file (lib/dry-run.mjs).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bringUp } from './lib/bringup-steps.mjs'
import { applicationDsn } from './lib/dsn.mjs'
import { commandsAsJson, isRecordingTransport, renderCommands } from './lib/dry-run.mjs'
import { redact } from './lib/cluster-context.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = 'usage: bringup.mjs --inventory <file> [--ssl off|self-signed|ca] [--env-output <path>] [--show-password] [--check]'

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  if (args.ssl !== undefined && !['off', 'self-signed', 'ca'].includes(args.ssl))
    throw new InputError(`--ssl must be off, self-signed or ca, got "${args.ssl}"`)
  if (args.check && args['show-password']) throw new InputError('--check prints no password: drop --show-password')
  const ctx = await loadContext({ ssl: args.ssl, dryRun: args.check, secrets: 'create' })
  const envFile = path.resolve(args['env-output'] ?? path.join(repoRoot, '.env'))
  if (args.check) startPlan(ctx, progress, args.json)
  if (ctx.secretsCreated.length > 0) {
    progress.info('secrets', `${args.check ? 'would generate' : 'generated'} ${ctx.secretsCreated.join(', ')} in ${ctx.secretsFile} (0600)`)
  }
  const { dsn } = await bringUp({ ...ctx, progress, envFile })
  const changed = progress.results.filter((r) => r.status === 'changed').length
  const shown = args['show-password'] ? applicationDsn(ctx.inventory, { password: ctx.secrets.app_password }) : dsn
  if (args.json) {
    progress.info('done', args.check ? 'dry run: nothing was run' : changed ? `${changed} steps changed something` : 'no changes', {
      dsn: shown,
      env_file: envFile,
      changed_steps: changed,
    })
  } else if (args.check) {
    process.stdout.write(
      `\ndry run: nothing was run. DSN the bring-up prints:\nDSN (keyword): ${shown.keyword}\nDSN (URI):     ${shown.uri}\n`,
    )
  } else {
    process.stdout.write(
      `\n${changed ? `done: ${changed} steps changed something` : 'done: no changes, the cluster already matched the inventory'} (${(progress.elapsedMs() / 1000).toFixed(1)} s)\n`,
    )
    process.stdout.write(`DSN (keyword): ${shown.keyword}\nDSN (URI):     ${shown.uri}\n`)
    process.stdout.write(`${args['show-password'] ? '' : `password: in ${envFile} and ${ctx.secretsFile} (--show-password prints it)\n`}`)
  }
}

/**
 * --check: a header saying how commands reach each host, then each step's commands under it.
 * @param {import('./lib/cluster-context.mjs').ClusterContext} ctx loaded with dryRun: its transport records
 * @param {import('./lib/script-main.mjs').ScriptRun['progress']} progress @param {boolean} json
 */
function startPlan({ inventory, transport, runtime, secrets }, progress, json) {
  if (!isRecordingTransport(transport))
    throw new Error('bringup --check: the context was not loaded with dryRun, its transport records nothing')
  /** @param {string} text */
  const scrub = (text) => redact(text, secrets)
  const hosts = [inventory.monitor, ...inventory.nodes]
  if (json) {
    process.stdout.write(
      JSON.stringify({
        event: 'plan',
        inventory: inventory.file,
        runtime: runtime.name,
        transport: transport.name,
        hosts: hosts.map((h) => ({ host: h.host, address: h.address, via: transport.describe(h) })),
      }) + '\n',
    )
  } else {
    process.stdout.write(
      `bringup --check: nothing is run. What a bring-up of ${inventory.file} runs on hosts where nothing exists yet\n` +
        `(runtime ${runtime.name}, transport ${transport.name}), step by step, in order; each command is marked [host address] user$.\n` +
        'Against existing hosts every step checks first and skips what is already done.\n' +
        hosts.map((h) => `  ${h.host} (${h.address}): ${transport.describe(h)}\n`).join('') +
        '\n',
    )
  }
  progress.listen((record) => {
    if (record.event !== 'step') return
    const commands = transport.take()
    process.stdout.write(json ? commandsAsJson(commands, record.step, scrub) : renderCommands(commands, scrub))
  })
}

await runClusterScript({ name: 'bringup', usage: USAGE, string: ['env-output', 'ssl'], boolean: ['show-password', 'check'], main })
