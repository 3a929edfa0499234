#!/usr/bin/env node
// api-service: the reference API as a background service of this host, for the lab.
//
//   start: 1. ensure the env file with DATABASE_URL exists (bring-up writes it)
//          2. build the API (and db-ha) with turbo
//          3. apply the migrations (db:migrate)
//          4. stop an instance started earlier, start a new one (logs in .run/api.log)
//          5. wait until /readyz answers 200
//   stop:  SIGTERM (graceful: in-flight requests finish), SIGKILL after --timeout
//   status: running or not, and the URL
// usage: api-service.mjs start|stop|status [--env-file .env] [--port 3000] [--host 127.0.0.1]
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import { closeSync, openSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { $ } from 'zx'
import { parseOptions, tcpPortOption } from '../lib/cli-options.mjs'
import { InputError, exitOn } from '../lib/errors.mjs'
import { waitFor } from '../lib/wait-for.mjs'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const apiDir = path.join(repoRoot, 'apps/api')
const runDir = path.join(repoRoot, '.run')
const pidFile = path.join(runDir, 'api.pid')
const logFile = path.join(runDir, 'api.log')
const USAGE = 'usage: api-service.mjs start|stop|status [--env-file <path>] [--port <n>] [--host <address>]'

/** @param {string} line */
const log = (line) => process.stderr.write(`api-service: ${line}\n`)

/** The pid of the API started earlier, if it still runs. */
export async function runningPid() {
  const pid = Number((await fs.readFile(pidFile, 'utf8').catch(() => '')).trim())
  if (!pid) return null
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  return cmdline.includes('apps/api/dist/main.js') ? pid : null
}

/**
 * Stops the API started earlier (SIGTERM, SIGKILL after timeoutMs); whether one was running.
 * @param {{timeoutMs?: number}} [options]
 */
export async function stopApi({ timeoutMs = 15_000 } = {}) {
  const pid = await runningPid()
  await fs.rm(pidFile, { force: true })
  if (!pid) return false
  process.kill(pid, 'SIGTERM')
  const gone = await waitFor(
    async () =>
      !(await fs.access(`/proc/${pid}`).then(
        () => true,
        () => false,
      )),
    { timeoutMs, intervalMs: 100, what: 'the API to stop' },
  ).catch(() => false)
  if (!gone) process.kill(pid, 'SIGKILL')
  return true
}

/**
 * @param {{envFile?: string, port?: number, host?: string}} [options]
 * @returns {Promise<string>} the API's base URL
 */
export async function startApi({ envFile = path.join(repoRoot, '.env'), port = 3000, host = '127.0.0.1' } = {}) {
  await ensureEnvFile(envFile)
  log('step 2: build (turbo run build --filter=@pg-ha/api)')
  await $({ cwd: repoRoot, quiet: true })`npx turbo run build --filter=@pg-ha/api --output-logs=errors-only`
  log('step 3: migrations')
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, PGHA_ENV_FILE: envFile }
  delete env.DATABASE_URL
  await $({ cwd: apiDir, env, stdio: ['ignore', 'inherit', 'inherit'] })`node dist/db/migrate-cli.js`
  if (await stopApi()) log('step 4: stopped the API started earlier')
  await fs.mkdir(runDir, { recursive: true })
  const out = openSync(logFile, 'a', 0o600)
  try {
    const child = spawn(process.execPath, [path.join(apiDir, 'dist/main.js')], {
      cwd: apiDir,
      env: { ...env, PORT: String(port), HOST: host },
      detached: true,
      stdio: ['ignore', out, out],
    })
    await fs.writeFile(pidFile, `${child.pid}\n`)
    child.unref()
  } finally {
    closeSync(out)
  }
  const url = `http://${host}:${port}`
  log(`step 4: started (pid ${await fs.readFile(pidFile, 'utf8').then((s) => s.trim())}, log ${path.relative(process.cwd(), logFile)})`)
  await waitFor(
    async () => {
      if (!(await runningPid())) throw new Error(`the API exited; see ${logFile}`)
      return (await fetch(`${url}/readyz`).catch(() => null))?.ok
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the API to be ready' },
  )
  log(`step 5: ready at ${url}`)
  return url
}

/** @param {string} envFile */
async function ensureEnvFile(envFile) {
  const text = await fs.readFile(envFile, 'utf8').catch(() => null)
  if (text === null) throw new InputError(`${envFile} does not exist: bring the cluster up first (npm run lab)`)
  if (!/^DATABASE_URL=/m.test(text)) throw new InputError(`${envFile} has no DATABASE_URL`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const { values: args, positionals } = parseOptions(process.argv.slice(2), {
      usage: USAGE,
      options: { 'env-file': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
      positionals: true,
    })
    const [command, extra] = positionals
    if (!['start', 'stop', 'status'].includes(command ?? '') || extra)
      throw new InputError(
        `expected one of start, stop, status${extra ? `, not "${extra}" after it` : command ? `, not "${command}"` : ''}; ${USAGE}`,
      )
    const port = tcpPortOption(args.port, '--port') ?? 3000
    if (command === 'start') {
      const url = await startApi({
        envFile: path.resolve(args['env-file'] ?? path.join(repoRoot, '.env')),
        port,
        host: args.host ?? '127.0.0.1',
      })
      process.stdout.write(`${url}\n`)
    } else if (command === 'stop') {
      log((await stopApi()) ? 'stopped' : 'not running')
    } else {
      const pid = await runningPid()
      process.stdout.write(pid ? `running (pid ${pid})\n` : 'not running\n')
      process.exitCode = pid ? 0 : 3
    }
  } catch (error) {
    exitOn(error, { name: 'api-service', firstLine: true })
  }
}
