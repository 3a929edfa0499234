// The drill's CLI refuses bad input with exit 2, naming what was wrong, before it touches any
// cluster; --help changes nothing. No lab is needed: every case stops before the cluster.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const drill = path.resolve(import.meta.dirname, '../drill/drill.mjs')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgha-drill-options-'))
// A cluster over ssh at addresses nothing answers on (TEST-NET-1), with a key that exists.
const key = path.join(dir, 'id_ed25519')
fs.writeFileSync(key, 'not a key\n', { mode: 0o600 })
fs.writeFileSync(path.join(dir, 'known_hosts'), '')
const sshInventory = path.join(dir, 'ssh.yml')
fs.writeFileSync(
  sshInventory,
  `all:
  vars: { formation: default, dbname: app, app_user: app, failover_profile: fast, runtime: native, transport: ssh,
          network_cidr: 192.0.2.0/24, ansible_ssh_private_key_file: ${key}, ssh_known_hosts_file: ${path.join(dir, 'known_hosts')}, ssh_connect_timeout: 1 }
  children:
    monitor: { hosts: { m: { ansible_host: 192.0.2.13, pg_port: 5432 } } }
    nodes:
      hosts:
        a: { ansible_host: 192.0.2.11, node_name: node1 }
        b: { ansible_host: 192.0.2.12, node_name: node2 }
`,
)
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** @param {string[]} args */
function run(args) {
  const out = spawnSync(process.execPath, [drill, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: '/usr/bin:/bin' },
  })
  return { code: out.status, stdout: out.stdout, stderr: out.stderr }
}

describe('drill options', () => {
  it('--help prints the usage and exits 0', () => {
    const out = run(['--help', '--scenario', 'power-off'])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(/--scenario <switchover\|power-off\|/)
  })

  it.each([
    [['--scenario', 'meteor'], /--scenario "meteor" is not a scenario/],
    [[], /--scenario is required/],
    [['--scenario', 'switchover', '--profile', 'turbo'], /--profile "turbo" is not a failover profile/],
    [['--scenario', 'switchover', '--rate', '0'], /--rate: must be an integer from 1 to 5000, got "0"/],
    [['--scenario', 'switchover', '--rate', 'ten'], /--rate: must be an integer/],
    [['--scenario', 'switchover', '--duration=-5'], /--duration "-5" must be a number of seconds/],
    [['--scenario', 'switchover', '--engine', 'jmeter'], /--engine "jmeter" is not an engine \(node, k6\)/],
    [['--scenario', 'switchover', '--sceanrio', 'x'], /unknown option --sceanrio/],
    [['--scenario', 'switchover', '--api-url', 'http://user:secret@127.0.0.1:3000'], /--api-url: must be an http/],
  ])('%j exits 2: %s', (args, message) => {
    const out = run(args)
    expect(out.stderr).toMatch(message)
    expect(out.stderr).not.toMatch(/secret/)
    expect(out.code).toBe(2)
  })

  it('--engine k6 without k6 on PATH exits 2 and says the project does not ship it', () => {
    const out = run(['--scenario', 'switchover', '--engine', 'k6'])
    expect(out.stderr).toMatch(/no k6 on PATH.*does not ship it/)
    expect(out.code).toBe(2)
  })

  it('over ssh, a fault only the lab can make exits 2 naming the drills that can run', () => {
    const out = run(['--scenario', 'power-off', '--inventory', sshInventory, '--yes'])
    expect(out.stderr).toMatch(
      /--scenario power-off needs the lab.*over transport ssh the drills are: switchover, isolate-primary, crash-postgres, standby-loss/,
    )
    expect(out.code).toBe(2)
  })

  it('over ssh, a drill needs --yes', () => {
    const out = run(['--scenario', 'switchover', '--inventory', sshInventory])
    expect(out.stderr).toMatch(/disturbs a real cluster.*--yes/)
    expect(out.code).toBe(2)
  })

  it('with no cluster reachable, exits 2 before any fault', () => {
    const out = run(['--scenario', 'switchover', '--inventory', sshInventory, '--yes'])
    expect(out.stderr).toMatch(/no cluster reachable through/)
    expect(out.code).toBe(2)
  })
})
