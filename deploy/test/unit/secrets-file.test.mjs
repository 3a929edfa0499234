// `<inventory>.secrets.yml` holds the running cluster's passwords. Only bring-up creates it; a
// script that puts passwords on hosts refuses to run without it (new ones would rotate the
// replicator's password on the primary under its standbys); no other script writes it, even when
// it stops on bad input. No lab needed: every run here stops before any host is reached.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployDir, runScript } from '../support/run-script.mjs'

/** @type {string} */
let dir
/** @type {string} */
let inventory
/** @type {string} */
let secretsFile

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-secrets-'))
  // The three-VM fixture names a lab ("example") that does not exist: nothing can be reached.
  inventory = path.join(dir, 'cluster.yml')
  await fs.copyFile(path.join(deployDir, 'test/fixtures/three-vms.yml'), inventory)
  secretsFile = path.join(dir, 'cluster.secrets.yml')
})
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/** @param {string} name @param {...string} args */
const script = (name, ...args) => runScript(`scripts/${name}.mjs`, ['--inventory', inventory, ...args])
/** @param {string} file */
const exists = (file) =>
  fs.access(file).then(
    () => true,
    () => false,
  )

describe('without a secrets file', () => {
  it('add-node and rejoin refuse with exit 2, naming the file, and create none', async () => {
    for (const [name, args] of /** @type {Array<[string, string[]]>} */ ([
      ['add-node', ['--node', 'node1']],
      ['rejoin', ['--node', 'node2', '--yes']],
    ])) {
      const out = await script(name, ...args, '--json')
      expect(out.code, name).toBe(2)
      expect(out.stderr, name).toContain(
        `${name}: invalid input: ${secretsFile}: monitor_password, replication_password, app_password missing`,
      )
      expect(out.stdout, name).not.toMatch(/hosts reachable/)
      expect(await exists(secretsFile), name).toBe(false)
    }
  })

  it('switchover, maintenance and teardown stopping on bad input create none', async () => {
    for (const [name, args, message] of /** @type {Array<[string, string[], string]>} */ ([
      ['switchover', ['--to', 'node9'], '--to "node9" is not a node of the inventory'],
      ['maintenance', ['--node', 'node9', '--enable'], '--node "node9" is not a node of the inventory'],
      ['teardown', [], 'add --yes to confirm'],
    ])) {
      const out = await script(name, ...args)
      expect(out.code, name).toBe(2)
      expect(out.stderr, name).toContain(message)
      expect(await exists(secretsFile), name).toBe(false)
    }
  })

  it('status, failing to reach the monitor, creates none', async () => {
    const out = await script('status')
    expect(out.code).toBe(1)
    expect(out.stderr).toContain('lab example has no VM')
    expect(await exists(secretsFile)).toBe(false)
  })
})

describe('with the secrets file bring-up wrote', () => {
  it('add-node reads it and writes nothing to it', async () => {
    const secrets = {
      monitor_password: 'monitor-Secret-0123456789',
      replication_password: 'replication-Secret-0123456789',
      app_password: 'app-Secret-0123456789',
    }
    await fs.writeFile(secretsFile, YAML.stringify(secrets), { mode: 0o600 })
    // Past the secrets check, it stops at the first host it cannot reach.
    const out = await script('add-node', '--node', 'node1')
    expect(out.code).toBe(1)
    expect(out.stderr).toContain('lab example has no VM')
    expect(YAML.parse(await fs.readFile(secretsFile, 'utf8'))).toEqual(secrets)
    await fs.rm(secretsFile)
  })
})
