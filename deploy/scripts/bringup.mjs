#!/usr/bin/env node
// bringup: deploy a pg_auto_failover cluster from an Ansible-style inventory.
//
// Steps (each checks before it acts; re-running is safe and resumes after a failure):
//   1. validate the inventory and load/generate its secrets (exit 2 on bad input, no host touched)
//   2. hosts reachable; ~postgres/.pgpass on every host
//   3. monitor: create, harden pg_hba, start, autoctl_node password, failover profile
//   4. first node: create, keeper profile, pg_hba, start, wait until primary; replication password
//   5. each further node in turn: same, wait until secondary
//   6. verify: one primary, the rest secondaries, all healthy per the monitor
//   7. application role and database on the primary
//   8. print the application DSN (every node, target_session_attrs=read-write) and write it to the env file
//
// usage: bringup.mjs --inventory <file> [--ssl off|self-signed] [--env-output <path>] [--json] [--show-password]
// --ssl overrides the inventory's `ssl` variable (explicit option > inventory > default off).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bringUp } from './lib/bringup-steps.mjs'
import { loadClusterContext, redact } from './lib/cluster-context.mjs'
import { applicationDsn } from './lib/dsn.mjs'
import { InputError, exitCodeFor } from './lib/errors.mjs'
import { createProgress } from './lib/progress.mjs'
import { parseScriptArgs } from './lib/script-args.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const USAGE = 'usage: bringup.mjs --inventory <file> [--ssl off|self-signed] [--env-output <path>] [--json] [--show-password]'
const { args, validate } = parseScriptArgs(process.argv.slice(2), { usage: USAGE, string: ['env-output', 'ssl'], boolean: ['json', 'show-password'] })
const progress = createProgress({ json: args.json })
let secrets = {}

try {
  validate()
  if (args.ssl !== undefined && !['off', 'self-signed'].includes(args.ssl)) throw new InputError(`--ssl must be off or self-signed, got "${args.ssl}"`)
  const ctx = await loadClusterContext(args.inventory, { ssl: args.ssl })
  secrets = ctx.secrets
  if (ctx.secretsCreated.length > 0) progress.info('secrets', `generated ${ctx.secretsCreated.join(', ')} in ${ctx.secretsFile} (0600)`)
  const envFile = path.resolve(args['env-output'] ?? path.join(repoRoot, '.env'))
  const { dsn } = await bringUp({ ...ctx, progress, envFile })
  const changed = progress.results.filter((r) => r.status === 'changed').length
  const shown = args['show-password'] ? applicationDsn(ctx.inventory, { password: ctx.secrets.app_password }) : dsn
  if (args.json) {
    progress.info('done', changed ? `${changed} steps changed something` : 'no changes', { dsn: shown, env_file: envFile, changed_steps: changed })
  } else {
    process.stdout.write(`\n${changed ? `done: ${changed} steps changed something` : 'done: no changes, the cluster already matched the inventory'} (${(progress.elapsedMs() / 1000).toFixed(1)} s)\n`)
    process.stdout.write(`DSN (keyword): ${shown.keyword}\nDSN (URI):     ${shown.uri}\n`)
    process.stdout.write(`${args['show-password'] ? '' : `password: in ${envFile} and ${ctx.secretsFile} (--show-password prints it)\n`}`)
  }
} catch (error) {
  const message = redact(error.message, secrets)
  if (args.json) process.stdout.write(JSON.stringify({ event: 'error', code: error.code ?? 'FAILED', step: error.step, message }) + '\n')
  process.stderr.write(`bringup: ${error.code === 'INPUT_INVALID' ? 'invalid input' : `failed${error.step ? ` at step "${error.step}"` : ''}`}: ${message}\n`)
  process.exit(exitCodeFor(error))
}
