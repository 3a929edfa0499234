// Ansible's -e / --extra-vars on every cluster script: key=value, a mapping, @file; above every
// inventory variable; bad ones are an input error naming them.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseExtraVars } from '../../lib/cli-options.mjs'
import { deployDir, runScript } from '../support/run-script.mjs'

const labInventory = path.join(deployDir, 'inventory/lab.yml')
/** @type {string} */
let dir

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-extra-vars-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

describe('parseExtraVars', () => {
  it('reads key=value pairs as YAML scalars, mappings and @files, later ones winning', async () => {
    const file = path.join(dir, 'vars.yml')
    await fs.writeFile(file, 'runtime: docker\nconnect_timeout: 5\n')
    expect(parseExtraVars(['transport=ssh candidate_priority=10', '{"ssl": "off"}', `@${file}`, 'runtime=native', 'note=a=b'])).toEqual({
      transport: 'ssh',
      candidate_priority: 10,
      ssl: 'off',
      runtime: 'native',
      connect_timeout: 5,
      note: 'a=b',
    })
  })

  it('refuses what is not a variable, naming it when it can only be a name, never a value', () => {
    expect(() => parseExtraVars(['transport'])).toThrow(/-e "transport": expected key=value/)
    for (const [item, shown] of /** @type {Array<[string, RegExp]>} */ ([
      ['hunter2!', /-e word: expected key=value/],
      ['=hunter2', /no variable name before "="/],
      ['{"app_password": "hunter2', /-e: not YAML or JSON \(line 1/],
    ])) {
      let message = ''
      try {
        parseExtraVars([item])
      } catch (error) {
        if (!(error instanceof Error)) throw error
        message = error.message
      }
      expect(message).toMatch(shown)
      expect(message).not.toContain('hunter2')
    }
    expect(() => parseExtraVars(['@/nonexistent/vars.yml'])).toThrow(/-e @\/nonexistent\/vars.yml: cannot read it \(ENOENT\)/)
  })
})

describe('-e on a cluster script', () => {
  it('overrides the inventory, and a bad value is refused before any host is touched', async () => {
    const out = await runScript('scripts/status.mjs', ['--inventory', labInventory, '-e', 'transport=carrier-pigeon'])
    expect(out.code).toBe(2)
    expect(out.stderr).toMatch(/transport/)
    expect(out.stderr).toContain('carrier-pigeon')
  })

  it('--check plans with the overridden variable', async () => {
    const threeVms = path.join(deployDir, 'test/fixtures/three-vms.yml')
    const plain = await runScript('scripts/bringup.mjs', ['--inventory', threeVms, '--check'])
    const docker = await runScript('scripts/bringup.mjs', ['--inventory', threeVms, '--check', '-e', 'runtime=docker'])
    expect(plain.code, plain.stderr).toBe(0)
    expect(docker.code, docker.stderr).toBe(0)
    expect(plain.stdout).not.toContain('docker compose')
    expect(docker.stdout).toContain('docker compose')
  })
})
