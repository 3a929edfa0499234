// ansible-runner's private data directory, so tools built around ansible-runner (AWX-style job
// runners, CI wrappers) can drive these scripts and read their results unchanged.
//
// Input (all optional):  DIR/inventory/hosts   the inventory (an explicit --inventory wins)
//                        DIR/env/envvars       mapping: added to the environment
//                        DIR/env/extravars     mapping: inventory variables, above all others (Ansible's -e)
//                        DIR/env/ssh_key       private key for every host (written to a 0600 temp file)
//                        DIR/env/passwords     mapping of prompt -> answer: read and checked; nothing here prompts
//                        DIR/env/settings      mapping: job_timeout (seconds) is honoured
// Output: DIR/artifacts/<ident>/{command, stdout, rc, status, job_events/<counter>-<uuid>.json}
// status is successful | failed | timeout | canceled; rc 254 on timeout and cancel, as ansible-runner.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { errorMessage } from '../../lib/error-message.mjs'
import { InputError } from '../../lib/errors.mjs'

const IDENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/
export const RC_INTERRUPTED = 254
const SECRET_NAME = /pass|secret|token|key|dsn|database_url/i

/**
 * Reads and checks the input side; nothing is written until every file is valid.
 * @param {string} dir
 * @returns {{dir: string, inventoryFile?: string, envvars: Record<string, string>, extravars: Record<string, unknown>, sshKey?: string, jobTimeoutS?: number}}
 */
export function readPrivateDataDir(dir) {
  const root = path.resolve(dir)
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new InputError('private data directory not found', { file: root })
  /** One of env/*: a mapping, or {} when the file is absent or empty. @param {string} name @returns {Record<string, unknown>} */
  const mapping = (name) => {
    const file = path.join(root, 'env', name)
    if (!fs.existsSync(file)) return {}
    let doc
    try {
      doc = YAML.parse(fs.readFileSync(file, 'utf8'))
    } catch (error) {
      throw new InputError(`not valid YAML or JSON: ${errorMessage(error).split('\n')[0]}`, { file })
    }
    if (doc === null || doc === undefined) return {}
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new InputError('must be a mapping', { file })
    return doc
  }
  /** @type {Record<string, string>} */
  const envvars = {}
  for (const [key, value] of Object.entries(mapping('envvars'))) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new InputError('not an environment variable name', { file: path.join(root, 'env', 'envvars'), key })
    if (!['string', 'number', 'boolean'].includes(typeof value))
      throw new InputError('must be a string, number or boolean', { file: path.join(root, 'env', 'envvars'), key })
    envvars[key] = String(value)
  }
  const extravars = mapping('extravars')
  mapping('passwords')
  const settings = mapping('settings')
  let jobTimeoutS
  if (settings.job_timeout !== undefined) {
    jobTimeoutS = Number(settings.job_timeout)
    if (!Number.isInteger(jobTimeoutS) || jobTimeoutS < 1)
      throw new InputError('must be a whole number of seconds', { file: path.join(root, 'env', 'settings'), key: 'job_timeout' })
  }
  const keyFile = path.join(root, 'env', 'ssh_key')
  let sshKey
  if (fs.existsSync(keyFile)) {
    sshKey = fs.readFileSync(keyFile, 'utf8')
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(sshKey))
      throw new InputError('is not a private key (no "-----BEGIN ... PRIVATE KEY-----" line)', { file: keyFile })
  }
  const hosts = path.join(root, 'inventory', 'hosts')
  return { dir: root, inventoryFile: fs.existsSync(hosts) ? hosts : undefined, envvars, extravars, sshKey, jobTimeoutS }
}

/** The key from env/ssh_key in a private temporary file, removed when the process exits. @param {string} sshKey @returns {string} the file */
export function writeTemporaryKey(sshKey) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgha-runner-'))
  const file = path.join(tmp, 'ssh_key')
  fs.writeFileSync(file, sshKey.endsWith('\n') ? sshKey : `${sshKey}\n`, { mode: 0o600 })
  process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))
  return file
}

/**
 * Opens DIR/artifacts/<ident>/ (a previous run with the same ident is replaced) and returns the
 * writer. Writes are synchronous: the files are complete whenever the process exits.
 * @param {{dir: string, ident?: string, script: string, argv: string[], scrub: (text: string) => string}} options
 */
export function openArtifacts({ dir, ident = crypto.randomUUID(), script, argv, scrub }) {
  if (!IDENT.test(ident)) throw new InputError(`--ident "${ident}" must be 1-128 letters, digits, "_", "." or "-"`)
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new InputError('private data directory not found', { file: dir })
  const root = path.join(dir, 'artifacts', ident)
  fs.rmSync(root, { recursive: true, force: true })
  fs.mkdirSync(path.join(root, 'job_events'), { recursive: true, mode: 0o700 })
  fs.writeFileSync(path.join(root, 'stdout'), '')
  /** ansible-runner's `command` artifact; values of secret-looking variables are masked. @param {Record<string, string>} envvars */
  const writeCommand = (envvars) => {
    const env = Object.fromEntries(Object.entries(envvars).map(([k, v]) => [k, SECRET_NAME.test(k) ? '********' : scrub(v)]))
    fs.writeFileSync(path.join(root, 'command'), JSON.stringify({ command: argv.map(scrub), cwd: process.cwd(), env }, null, 2) + '\n')
  }
  writeCommand({})

  const playbookUuid = crypto.randomUUID()
  let counter = 0
  let lines = 0
  let finished = false
  /** @typedef {'ok'|'changed'|'failures'|'dark'|'skipped'|'ignored'|'rescued'|'processed'} StatKind */
  /** ansible's per-host counts for playbook_on_stats. @type {Record<StatKind, Record<string, number>>} */
  const stats = { ok: {}, changed: {}, failures: {}, dark: {}, skipped: {}, ignored: {}, rescued: {}, processed: {} }
  /** @type {Map<string, string>} */
  const taskUuids = new Map()

  /** @param {string} text */
  function appendStdout(text) {
    const shown = scrub(text)
    fs.appendFileSync(path.join(root, 'stdout'), shown)
    lines += shown.split('\n').length - 1
  }

  /**
   * One event file; `stdout` is the text shown for it, already in the stdout artifact (its last lines).
   * @param {string} name @param {Record<string, unknown>} eventData @param {string} [stdout]
   */
  function event(name, eventData, stdout = '') {
    counter += 1
    const uuid = crypto.randomUUID()
    const shown = scrub(stdout)
    const lineCount = shown === '' ? 0 : shown.replace(/\n$/, '').split('\n').length
    const record = {
      uuid,
      counter,
      stdout: shown.replace(/\n$/, ''),
      start_line: lines - lineCount,
      end_line: lines,
      runner_ident: ident,
      event: name,
      pid: process.pid,
      created: new Date().toISOString(),
      event_data: { playbook: script, playbook_uuid: playbookUuid, ...eventData },
    }
    fs.writeFileSync(path.join(root, 'job_events', `${counter}-${uuid}.json`), JSON.stringify(record) + '\n')
  }

  /** @param {StatKind} kind @param {string} host */
  const count = (kind, host) => {
    stats[kind][host] = (stats[kind][host] ?? 0) + 1
    stats.processed[host] = 1
  }

  event('playbook_on_start', {})
  return {
    ident,
    dir: root,
    appendStdout,
    writeCommand,
    /**
     * Maps a progress record (see progress.mjs) onto ansible's runner_on_* events.
     * @param {import('./progress.mjs').ProgressRecord} record @param {string} line
     */
    progress(record, line) {
      const host = record.host ?? 'localhost'
      if (record.event === 'start') {
        const taskUuid = crypto.randomUUID()
        taskUuids.set(`${record.step}|${host}`, taskUuid)
        event('runner_on_start', { host, task: record.step, step: record.step, task_uuid: taskUuid })
        return
      }
      if (record.event === 'info') {
        event('verbose', { step: record.step }, line)
        return
      }
      const failed = record.status === 'failed'
      const changed = record.status === 'changed'
      count(failed ? 'failures' : 'ok', host)
      if (changed) count('changed', host)
      event(
        failed ? 'runner_on_failed' : 'runner_on_ok',
        {
          host,
          task: record.step,
          step: record.step,
          task_uuid: taskUuids.get(`${record.step}|${host}`),
          duration: (record.duration_ms ?? 0) / 1000,
          res: { changed, msg: scrub(record.detail ?? ''), ...(failed ? { failed: true } : {}) },
        },
        line,
      )
    },
    /** A failure outside any step (bad input, an early refusal). @param {string} step @param {string} message @param {string} shown */
    failure(step, message, shown) {
      count('failures', 'localhost')
      event('runner_on_failed', { host: 'localhost', task: step, step, res: { failed: true, msg: scrub(message) } }, shown)
    },
    /** @param {'successful'|'failed'|'timeout'|'canceled'} status @param {number} rc */
    finish(status, rc) {
      if (finished) return
      finished = true
      event('playbook_on_stats', { ...stats })
      fs.writeFileSync(path.join(root, 'rc'), String(rc))
      fs.writeFileSync(path.join(root, 'status'), status)
    },
  }
}
