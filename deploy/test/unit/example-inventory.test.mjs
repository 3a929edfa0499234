// deploy/inventory/example.yml is what users copy for their three VMs, so it must stay valid and
// say what the README says: transport ssh, runtime native, VM3 = monitor + node3 with the lowest
// candidate priority, no TLS, documentation addresses. Offline: the key and known_hosts files
// --check needs exist only as temporary files, passed with -e.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir, runScript } from '../support/run-script.mjs'

const example = path.join(deployDir, 'inventory/example.yml')
const DSN_KEYWORD =
  'host=192.0.2.11,192.0.2.12,192.0.2.13 port=5432,5432,5433 dbname=app user=app target_session_attrs=read-write connect_timeout=3 sslmode=disable'
const DSN_URI =
  'postgresql://app@192.0.2.11:5432,192.0.2.12:5432,192.0.2.13:5433/app?target_session_attrs=read-write&connect_timeout=3&sslmode=disable'
/** @type {string} */
let dir
/** @type {string[]} */
let sshFiles

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-example-'))
  await fs.writeFile(path.join(dir, 'known_hosts'), '')
  await fs.writeFile(path.join(dir, 'id_ed25519'), 'not read by a dry run\n', { mode: 0o600 })
  sshFiles = [
    '-e',
    `ansible_ssh_private_key_file=${path.join(dir, 'id_ed25519')}`,
    '-e',
    `ssh_known_hosts_file=${path.join(dir, 'known_hosts')}`,
  ]
})
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/** bringup --check on the example with the temporary ssh files; writes nothing. @param {...string} args */
async function check(...args) {
  const envOutput = path.join(dir, 'never.env')
  const out = await runScript('scripts/bringup.mjs', ['--inventory', example, '--check', '--env-output', envOutput, ...sshFiles, ...args], {
    timeoutMs: 30_000,
  })
  await expect(fs.access(envOutput)).rejects.toThrow()
  await expect(fs.access(path.join(deployDir, 'inventory/example.secrets.yml'))).rejects.toThrow()
  return out
}

describe('the example inventory (three real VMs)', () => {
  it('reaches the VMs over ssh as root with a key and a known_hosts file, runtime native, no TLS', async () => {
    const inventory = await loadInventory(example)
    expect(inventory).toMatchObject({
      transport: 'ssh',
      runtime: 'native',
      ssl: 'off',
      profile: 'default',
      networkCidr: '192.0.2.0/24',
      connectTimeout: 3,
    })
    expect(inventory.labName).toBeUndefined()
    expect(inventory.ssh).toEqual({
      knownHostsFile: path.join(os.homedir(), '.ssh/known_hosts'),
      acceptNewHostKeys: false,
      connectTimeout: 10,
    })
    for (const host of [inventory.monitor, ...inventory.nodes]) {
      expect(host.ssh, host.host).toEqual({ user: 'root', port: 22, keyFile: path.join(os.homedir(), '.ssh/id_ed25519') })
      expect(host.labVm, host.host).toBeUndefined()
    }
  })

  it('puts the monitor on VM3 beside node3, the last choice for primary', async () => {
    const { monitor, nodes } = await loadInventory(example)
    expect(monitor).toMatchObject({ address: '192.0.2.13', port: 5432 })
    expect(nodes.map((n) => [n.nodeName, n.address, n.port, n.candidatePriority])).toEqual([
      ['node1', '192.0.2.11', 5432, undefined],
      ['node2', '192.0.2.12', 5432, undefined],
      ['node3', '192.0.2.13', 5433, 10],
    ])
  })

  it('passes bringup --check over ssh and prints the DSN the README shows', async () => {
    const out = await check()
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('(runtime native, transport ssh)')
    expect(out.stdout).toContain(`-l root -T 192.0.2.11 '<command>'`)
    expect(out.stdout).not.toContain('docker compose')
    expect(out.stdout).toContain(`DSN (keyword): ${DSN_KEYWORD}\n`)
    expect(out.stdout).toContain(`DSN (URI):     ${DSN_URI}\n`)
  })

  it('switches to runtime docker with one variable', async () => {
    const out = await check('-e', 'runtime=docker')
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    expect(out.stdout).toContain('(runtime docker, transport ssh)')
    expect(out.stdout).toContain('docker compose')
  })

  it('names the missing key as bad input when it does not exist', async () => {
    const missing = path.join(dir, 'no-such-key')
    const out = await runScript('scripts/bringup.mjs', ['--inventory', example, '--check', '-e', `ansible_ssh_private_key_file=${missing}`])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain(`ansible_ssh_private_key_file: private key ${missing} not found`)
  })
})
