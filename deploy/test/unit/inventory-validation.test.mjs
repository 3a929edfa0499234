// Bad inventories stop every script with exit 2 and a message naming the file and the key,
// before any host is touched (the lab named in these inventories does not exist).
import { chmodSync, writeFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployDir, runScript } from '../support/run-script.mjs'

/**
 * An inventory document as YAML parses it; the cases below change it freely, into invalid shapes too.
 * @typedef {any} InventoryDoc
 */

// Three VMs (VM3 = monitor + node3) on 10.0.0.0/24, transport netns: the example's shape, offline.
const threeVms = path.join(deployDir, 'test/fixtures/three-vms.yml')
/** @type {string} */
let dir
/** @type {InventoryDoc} */
let base
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-inventory-'))
  base = YAML.parse(await fs.readFile(threeVms, 'utf8'))
  base.all.vars.lab_name = 'nolab'
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/** @param {string} name @param {(doc: InventoryDoc) => void} mutate */
async function writeInventory(name, mutate) {
  const doc = structuredClone(base)
  mutate(doc)
  const file = path.join(dir, `${name}.yml`)
  await fs.writeFile(file, YAML.stringify(doc))
  return file
}

/** @param {InventoryDoc} doc */
const groups = (doc) => doc.all.children
/** @type {Array<[name: string, mutate: (doc: InventoryDoc) => void, message: RegExp]>} */
const cases = [
  [
    'no monitor',
    (doc) => {
      delete groups(doc).monitor
    },
    /monitor\.hosts.*missing or has no hosts/,
  ],
  [
    'two monitors',
    (doc) => {
      groups(doc).monitor.hosts.vm1m = { ansible_host: '10.0.0.11', pg_port: 5431, lab_vm: 'vm1' }
    },
    /monitor\.hosts: group "monitor" must have exactly one host, has 2/,
  ],
  [
    'a duplicate address',
    (doc) => {
      groups(doc).nodes.hosts.vm2.ansible_host = '10.0.0.11'
    },
    /all\.children\.nodes\.hosts\.vm2\.ansible_host: duplicate address 10\.0\.0\.11:5432/,
  ],
  [
    'a bad port',
    (doc) => {
      groups(doc).nodes.hosts.vm1.pg_port = 70000
    },
    /all\.children\.nodes\.hosts\.vm1\.pg_port: must be 1-65535 \(got 70000\)/,
  ],
  [
    'a non-numeric port',
    (doc) => {
      groups(doc).nodes.hosts.vm1.pg_port = 'abc'
    },
    /nodes\.hosts\.vm1\.pg_port: .*got "abc"/,
  ],
  [
    'an unknown profile',
    (doc) => {
      doc.all.vars.failover_profile = 'turbo'
    },
    /all\.vars\.failover_profile: must be one of default, fast \(got "turbo"\)/,
  ],
  [
    'failover_settings that break fencing',
    (doc) => {
      doc.all.vars.failover_profile = 'fast'
      doc.all.vars.failover_settings = { 'pgautofailover.primary_demote_timeout': 8000 }
    },
    /all\.vars\.failover_settings: failover profile "fast" with these settings is not fencing-safe: an isolated primary may still take writes 12 s after the cut .*primary_demote_timeout 8 s\): margin -1\.5 s/,
  ],
  [
    'an unknown failover setting',
    (doc) => {
      doc.all.vars.failover_settings = { demote_timeout: 1 }
    },
    /all\.vars\.failover_settings\.demote_timeout: unknown setting "demote_timeout"/,
  ],
  [
    'an unknown runtime',
    (doc) => {
      doc.all.vars.runtime = 'podman'
    },
    /all\.vars\.runtime: must be one of native.*\(got "podman"\)/,
  ],
  [
    'an unknown transport',
    (doc) => {
      doc.all.vars.transport = 'telnet'
    },
    /all\.vars\.transport: must be one of netns.*\(got "telnet"\)/,
  ],
  [
    'a single data node',
    (doc) => {
      delete groups(doc).nodes.hosts.vm2
      delete groups(doc).nodes.hosts.vm3
    },
    /nodes\.hosts: group "nodes" needs at least 2 hosts, has 1/,
  ],
  [
    'a duplicate node name',
    (doc) => {
      groups(doc).nodes.hosts.vm2.node_name = 'node1'
    },
    /nodes\.hosts\.vm2\.node_name: duplicate node_name "node1"/,
  ],
  [
    'an address outside network_cidr',
    (doc) => {
      groups(doc).nodes.hosts.vm2.ansible_host = '10.9.9.9'
    },
    /nodes\.hosts\.vm2\.ansible_host: 10\.9\.9\.9 is outside network_cidr 10\.0\.0\.0\/24/,
  ],
  [
    'a missing network_cidr',
    (doc) => {
      delete doc.all.vars.network_cidr
    },
    /all\.vars\.network_cidr: is required/,
  ],
  [
    'a CA certificate without its key',
    (doc) => {
      doc.all.vars.ssl = 'ca'
      doc.all.vars.ssl_ca_cert_file = 'my-ca.crt'
    },
    /all\.vars\.ssl_ca_key_file: a CA of your own needs both ssl_ca_cert_file and ssl_ca_key_file/,
  ],
  // Transport ssh: its variables, and the local files it needs, before any host is contacted.
  [
    'an ssh port out of range',
    (doc) => {
      ssh(doc)
      groups(doc).nodes.hosts.vm2.ansible_port = 0
    },
    /nodes\.hosts\.vm2\.ansible_port: must be 1-65535 \(got 0\)/,
  ],
  [
    'a bad ansible_user',
    (doc) => {
      ssh(doc)
      doc.all.vars.ansible_user = 'root; id'
    },
    /monitor\.hosts\.vm3-monitor\.ansible_user: must be a user name \(got "root; id"\)/,
  ],
  [
    'a non-boolean ssh_accept_new_host_keys',
    (doc) => {
      ssh(doc)
      doc.all.vars.ssh_accept_new_host_keys = 'yes'
    },
    /all\.vars\.ssh_accept_new_host_keys: must be true or false \(got "yes"\)/,
  ],
  [
    'a missing ssh key',
    (doc) => {
      ssh(doc)
      groups(doc).nodes.hosts.vm2.ansible_ssh_private_key_file = 'no-such-key'
    },
    /nodes\.hosts\.vm2\.ansible_ssh_private_key_file: private key \S*\/no-such-key not found/,
  ],
  [
    'an ssh key others can read',
    (doc) => {
      ssh(doc)
      const key = path.join(dir, 'open-key')
      writeFileSync(key, 'not really a key\n')
      chmodSync(key, 0o644)
      doc.all.vars.ansible_ssh_private_key_file = key
    },
    /ansible_ssh_private_key_file: private key \S*open-key is readable by others, which ssh refuses: chmod 600 it/,
  ],
  [
    'runtime docker in the lab with a docker_dir the VMs share',
    (doc) => {
      doc.all.vars.runtime = 'docker'
      doc.all.vars.docker_dir = '/srv/pgha'
    },
    /all\.vars\.docker_dir: docker_dir "\/srv\/pgha": with transport "netns" it must be \/opt\/pg-ha-kit/,
  ],
  [
    'a missing known_hosts file',
    (doc) => {
      ssh(doc)
      doc.all.vars.ssh_known_hosts_file = 'no-known-hosts'
    },
    /all\.vars\.ssh_known_hosts_file: known_hosts file \S*\/no-known-hosts not found: .*ssh_accept_new_host_keys/,
  ],
]

/** @param {InventoryDoc} doc */
function ssh(doc) {
  doc.all.vars.transport = 'ssh'
}

describe('inventory validation', () => {
  for (const [name, mutate, message] of cases) {
    it(`rejects ${name} with exit 2 and the key`, async () => {
      const file = await writeInventory(name.replaceAll(' ', '-'), mutate)
      const out = await runScript('scripts/bringup.mjs', ['--inventory', file, '--env-output', path.join(dir, 'never.env')])
      expect(out.stderr).toMatch(message)
      expect(out.stderr).toContain(file)
      expect(out.code).toBe(2)
      expect(out.stdout).not.toMatch(/hosts reachable/)
      await expect(fs.access(path.join(dir, 'never.env'))).rejects.toThrow()
    })
  }

  it('rejects a missing inventory file with exit 2, naming the file', async () => {
    const file = path.join(dir, 'absent.yml')
    const out = await runScript('scripts/bringup.mjs', ['--inventory', file])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain(`${file}: inventory file not found`)
  })

  it('rejects a file that is not YAML with exit 2', async () => {
    const file = path.join(dir, 'broken.yml')
    await fs.writeFile(file, 'all: [unclosed\n')
    const out = await runScript('scripts/status.mjs', ['--inventory', file])
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(new RegExp(`${file}: not valid YAML`))
  })

  it('rejects a missing --inventory and unknown flags in every script with exit 2', async () => {
    for (const script of ['scripts/bringup.mjs', 'scripts/status.mjs', 'scripts/teardown.mjs']) {
      const none = await runScript(script, [])
      expect(none.code).toBe(2)
      expect(none.stderr).toContain('--inventory is required')
      const unknown = await runScript(script, ['--inventory', 'x.yml', '--frobnicate'])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toContain('--frobnicate')
    }
  })

  it('rejects an unknown --ssl mode with exit 2', async () => {
    const out = await runScript('scripts/bringup.mjs', ['--inventory', threeVms, '--ssl', 'maybe'])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('--ssl must be off, self-signed or ca, got "maybe"')
  })

  it('asks for --yes before a teardown', async () => {
    const out = await runScript('scripts/teardown.mjs', ['--inventory', threeVms])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('add --yes to confirm')
  })
})
