// --private-data-dir: ansible-runner's input layout is read, and its artifact layout written, so
// that tools reading ansible-runner artifacts read ours. These runs need no lab: a dry run
// succeeds, a refused TCP port fails, a port that accepts and never answers hangs until the
// job_timeout or a SIGTERM.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployDir, runScript } from '../support/run-script.mjs'

const STATUSES = ['successful', 'failed', 'timeout', 'canceled']

/**
 * What a job event's event_data holds, the fields these tests read (each on the events it is read from).
 * @typedef {{step: string, host: string, task: string, res: {changed: boolean, msg: string},
 *   failures: Record<string, number>, processed: Record<string, number>, changed: Record<string, number>}} EventData
 */
/**
 * One file of artifacts/<ident>/job_events/, parsed.
 * @typedef {{counter: number, uuid: string, runner_ident: string, created: string, event: string,
 *   event_data: EventData, start_line: number, end_line: number, stdout?: string}} RunnerEvent
 */

/** @type {string} */
let dir
/** @type {import('node:net').Server} */
let silent
/** @type {number} */
let silentPort

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-runner-'))
  // Accepts connections and never speaks: ssh waits for a banner that never comes.
  silent = net.createServer(() => {})
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = silent.address()
  if (!address || typeof address === 'string') throw new Error('the silent server has no TCP address')
  silentPort = address.port
})
afterAll(async () => {
  silent?.close()
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/**
 * A private data directory for an inventory of loopback "VMs" over ssh on `sshPort`.
 * @param {string} name
 * @param {{sshPort?: number, env?: Record<string, string>, hosts?: boolean}} [options] env: files of env/, by name
 */
async function privateDataDir(name, { sshPort, env = {}, hosts = true } = {}) {
  const pdd = path.join(dir, name)
  await fs.mkdir(path.join(pdd, 'env'), { recursive: true })
  await fs.mkdir(path.join(pdd, 'inventory'), { recursive: true })
  if (hosts) {
    await fs.writeFile(
      path.join(pdd, 'inventory', 'hosts'),
      YAML.stringify({
        all: {
          vars: {
            transport: 'ssh',
            network_cidr: '127.0.0.0/8',
            ansible_port: sshPort ?? 22,
            ssh_known_hosts_file: path.join(pdd, 'known_hosts'),
            ssh_connect_timeout: 30,
          },
          children: {
            monitor: { hosts: { mon: { ansible_host: '127.0.0.1', pg_port: 5431 } } },
            nodes: {
              hosts: {
                n1: { ansible_host: '127.0.0.1', pg_port: 5432, pgdata: '/srv/n1' },
                n2: { ansible_host: '127.0.0.1', pg_port: 5433, pgdata: '/srv/n2' },
              },
            },
          },
        },
      }),
    )
    await fs.writeFile(path.join(pdd, 'known_hosts'), '')
  }
  for (const [file, content] of Object.entries(env)) await fs.writeFile(path.join(pdd, 'env', file), content, { mode: 0o600 })
  return pdd
}

/** Everything under artifacts/<ident>/, parsed. @param {string} pdd @param {string} ident */
async function readArtifacts(pdd, ident) {
  const root = path.join(pdd, 'artifacts', ident)
  const names = await fs.readdir(path.join(root, 'job_events'))
  const events = await Promise.all(
    names.map(async (name) => ({
      name,
      event: /** @type {RunnerEvent} */ (JSON.parse(await fs.readFile(path.join(root, 'job_events', name), 'utf8'))),
    })),
  )
  events.sort((a, b) => a.event.counter - b.event.counter)
  return {
    root,
    status: await fs.readFile(path.join(root, 'status'), 'utf8'),
    rc: Number(await fs.readFile(path.join(root, 'rc'), 'utf8')),
    stdout: await fs.readFile(path.join(root, 'stdout'), 'utf8'),
    command: /** @type {{command: string[], env: Record<string, string>}} */ (
      JSON.parse(await fs.readFile(path.join(root, 'command'), 'utf8'))
    ),
    events,
  }
}

/**
 * The layout and the event stream's invariants, whatever the outcome.
 * @param {Awaited<ReturnType<typeof readArtifacts>>} artifacts @param {string} ident
 */
function expectRunnerLayout(artifacts, ident) {
  expect(STATUSES).toContain(artifacts.status)
  expect(artifacts.events.map((e) => e.event.counter)).toEqual(artifacts.events.map((_, i) => i + 1))
  for (const { name, event } of artifacts.events) {
    expect(name).toBe(`${event.counter}-${event.uuid}.json`)
    expect(event.runner_ident).toBe(ident)
    expect(event.uuid).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number.isNaN(Date.parse(event.created))).toBe(false)
    expect(typeof event.event_data).toBe('object')
    expect(event.end_line).toBeGreaterThanOrEqual(event.start_line)
  }
  expect(artifacts.events[0]?.event.event).toBe('playbook_on_start')
  expect(artifacts.events.at(-1)?.event.event).toBe('playbook_on_stats')
  // start_line/end_line index the stdout artifact, as in ansible-runner.
  const lines = artifacts.stdout.split('\n')
  for (const { event } of artifacts.events.filter((e) => e.event.stdout)) {
    expect(lines.slice(event.start_line, event.end_line).join('\n')).toBe(event.stdout)
  }
}

describe('a successful run', () => {
  it('bringup --check: status successful, rc 0, one ok event per step, stats per host', async () => {
    const pdd = await privateDataDir('ok', {
      env: {
        envvars: YAML.stringify({ PGHA_EXAMPLE: 'visible', DEPLOY_TOKEN: 'hidden-value-123' }),
        passwords: YAML.stringify({ '^Password:\\s*$': 'unused' }),
      },
    })
    const out = await runScript('scripts/bringup.mjs', ['--check', '--private-data-dir', pdd, '--ident', 'run-1'], { timeoutMs: 30_000 })
    expect(out.code, out.stderr).toBe(0)
    const artifacts = await readArtifacts(pdd, 'run-1')
    expectRunnerLayout(artifacts, 'run-1')
    expect(artifacts.status).toBe('successful')
    expect(artifacts.rc).toBe(0)
    expect(artifacts.stdout).toBe(out.stdout + out.stderr)
    expect(artifacts.command.command.slice(-5)).toEqual(['--check', '--private-data-dir', pdd, '--ident', 'run-1'])
    expect(artifacts.command.env).toEqual({ PGHA_EXAMPLE: 'visible', DEPLOY_TOKEN: '********' })

    const ok = artifacts.events.filter((e) => e.event.event === 'runner_on_ok').map((e) => e.event.event_data)
    expect(ok.map((d) => `${d.step}@${d.host}`)).toContain('monitor: create@mon')
    expect(ok.map((d) => `${d.step}@${d.host}`)).toContain('n2: secondary@n2')
    const started = artifacts.events.filter((e) => e.event.event === 'runner_on_start')
    expect(started).toHaveLength(ok.length)
    const last = artifacts.events.at(-1)
    if (!last) throw new Error('no job event')
    const stats = last.event.event_data
    expect(stats.failures).toEqual({})
    expect(Object.keys(stats.processed).sort()).toEqual(['localhost', 'mon', 'n1', 'n2'])
    expect(stats.changed.mon).toBe(ok.filter((d) => d.host === 'mon' && d.res.changed).length)
  })
})

describe('failed runs', () => {
  it('an unreachable host: status failed, rc 1, the failed step in the events, no secret anywhere', async () => {
    // Port 1 on loopback refuses at once.
    const pdd = await privateDataDir('refused', { sshPort: 1 })
    // The cluster's passwords, as its bring-up left them beside inventory/hosts.
    const secretsFile = path.join(pdd, 'inventory', 'hosts.secrets.yml')
    const secrets = {
      monitor_password: 'monitor-Secret-0123456789',
      replication_password: 'replication-Secret-0123456789',
      app_password: 'app-Secret-0123456789',
    }
    await fs.writeFile(secretsFile, YAML.stringify(secrets), { mode: 0o600 })
    const out = await runScript('scripts/status.mjs', ['--private-data-dir', pdd, '--ident', 'refused'], { timeoutMs: 60_000 })
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/unreachable .*Connection refused/)
    const artifacts = await readArtifacts(pdd, 'refused')
    expectRunnerLayout(artifacts, 'refused')
    expect(artifacts.status).toBe('failed')
    expect(artifacts.rc).toBe(1)
    const failed = artifacts.events.filter((e) => e.event.event === 'runner_on_failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]?.event.event_data.res.msg).toMatch(/Connection refused/)
    expect(artifacts.events.at(-1)?.event.event_data.failures).toEqual({ localhost: 1 })

    // None of them leaks into the artifacts, and status leaves the file as it was.
    expect(YAML.parse(await fs.readFile(secretsFile, 'utf8'))).toEqual(secrets)
    const everything = await allFiles(artifacts.root)
    for (const value of Object.values(secrets)) expect(everything).not.toContain(value)
  })

  it('bad input in env/extravars: status failed, rc 2, the file and key named, nothing run', async () => {
    const pdd = await privateDataDir('bad-extravars', { env: { extravars: YAML.stringify({ runtime: 'podman' }) } })
    const out = await runScript('scripts/bringup.mjs', ['--private-data-dir', pdd, '--ident', 'bad'], { timeoutMs: 30_000 })
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(/invalid input: .*all\.vars\.runtime: must be one of native, docker \(got "podman"\)/)
    const artifacts = await readArtifacts(pdd, 'bad')
    expectRunnerLayout(artifacts, 'bad')
    expect([artifacts.status, artifacts.rc]).toEqual(['failed', 2])
    expect(artifacts.events.filter((e) => e.event.event === 'runner_on_failed').map((e) => e.event.event_data.task)).toEqual(['input'])
    expect(artifacts.events.some((e) => e.event.event === 'runner_on_start')).toBe(false)
    await expect(fs.access(path.join(pdd, 'inventory', 'hosts.secrets.yml'))).rejects.toThrow()
  })

  it.each([
    ['extravars', '- a list\n', /env\/extravars: must be a mapping/],
    ['envvars', 'NOT-A-NAME: 1\n', /env\/envvars: NOT-A-NAME: not an environment variable name/],
    ['settings', 'job_timeout: soon\n', /env\/settings: job_timeout: must be a whole number of seconds/],
    ['ssh_key', 'ssh-ed25519 AAAA... a public key\n', /env\/ssh_key: is not a private key/],
    ['passwords', 'key: [unclosed\n', /env\/passwords: not valid YAML or JSON/],
  ])('a malformed env/%s is refused with exit 2, naming it', async (file, content, message) => {
    const pdd = await privateDataDir(`malformed-${file}`, { env: { [file]: content } })
    const out = await runScript('scripts/status.mjs', ['--private-data-dir', pdd, '--ident', 'x'], { timeoutMs: 30_000 })
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(message)
    const artifacts = await readArtifacts(pdd, 'x')
    expect([artifacts.status, artifacts.rc]).toEqual(['failed', 2])
  })

  it('no inventory at all, a missing directory, or a bad ident: exit 2 and a clear message', async () => {
    const empty = await privateDataDir('no-hosts', { hosts: false })
    const noInventory = await runScript('scripts/status.mjs', ['--private-data-dir', empty], { timeoutMs: 30_000 })
    expect([noInventory.code, noInventory.stderr]).toEqual([
      2,
      expect.stringMatching(/--inventory is required \(or --private-data-dir with inventory\/hosts\)/),
    ])
    const missing = await runScript('scripts/status.mjs', ['--private-data-dir', path.join(dir, 'nope')], { timeoutMs: 30_000 })
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/nope: private data directory not found/)])
    const badIdent = await runScript('scripts/status.mjs', ['--private-data-dir', empty, '--ident', '../escape'], { timeoutMs: 30_000 })
    expect([badIdent.code, badIdent.stderr]).toEqual([2, expect.stringMatching(/--ident "\.\.\/escape" must be/)])
    await expect(fs.access(path.join(dir, 'escape'))).rejects.toThrow()
  })
})

describe('interrupted runs', () => {
  it('job_timeout in env/settings: status timeout, rc 254', async () => {
    const pdd = await privateDataDir('timeout', { sshPort: silentPort, env: { settings: 'job_timeout: 2\n' } })
    const t0 = Date.now()
    const out = await runScript('scripts/status.mjs', ['--private-data-dir', pdd, '--ident', 't'], { timeoutMs: 30_000 })
    expect(out.code).toBe(254)
    expect(Date.now() - t0).toBeLessThan(20_000)
    expect(out.stderr).toMatch(/job_timeout of 2 s reached/)
    const artifacts = await readArtifacts(pdd, 't')
    expectRunnerLayout(artifacts, 't')
    expect([artifacts.status, artifacts.rc]).toEqual(['timeout', 254])
  })

  it('SIGTERM: status canceled, rc 254', async () => {
    const pdd = await privateDataDir('cancel', { sshPort: silentPort })
    const child = spawn(process.execPath, [path.join(deployDir, 'scripts/status.mjs'), '--private-data-dir', pdd, '--ident', 'c'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const closed = new Promise((resolve) => child.on('close', resolve))
    // Wait until the run is under way (its artifacts directory exists), then cancel it.
    const started = Date.now()
    while (Date.now() - started < 10_000) {
      if (
        await fs.access(path.join(pdd, 'artifacts', 'c', 'command')).then(
          () => true,
          () => false,
        )
      )
        break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    child.kill('SIGTERM')
    const code = await closed
    expect(code).toBe(254)
    expect(stderr).toMatch(/canceled by SIGTERM/)
    const artifacts = await readArtifacts(pdd, 'c')
    expectRunnerLayout(artifacts, 'c')
    expect([artifacts.status, artifacts.rc]).toEqual(['canceled', 254])
  })
})

describe('env/ssh_key', () => {
  it('is the key ssh uses for every host, from a private temporary file removed afterwards', async () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n'
    const pdd = await privateDataDir('key', { env: { ssh_key: key } })
    const out = await runScript('scripts/bringup.mjs', ['--check', '--private-data-dir', pdd, '--ident', 'k'], { timeoutMs: 30_000 })
    expect(out.code, out.stderr).toBe(0)
    const used = [...new Set([...out.stdout.matchAll(/-i (\S+)/g)].map((m) => m[1]))]
    expect(used).toHaveLength(1)
    const [keyFile] = used
    expect(keyFile).toMatch(/\/pgha-runner-[^/]+\/ssh_key$/)
    if (keyFile === undefined) throw new Error('ssh was given no key file')
    await expect(fs.access(keyFile)).rejects.toThrow()
    expect(await allFiles(path.join(pdd, 'artifacts'))).not.toContain('not a real key')
  })
})

/** The text of every file under root. @param {string} root */
async function allFiles(root) {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true })
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => fs.readFile(path.join(e.parentPath, e.name), 'utf8')))
  return texts.join('\n')
}
