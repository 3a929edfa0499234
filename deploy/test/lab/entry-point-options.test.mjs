// Every entry point parses its command line strictly (cli-options.mjs): --help prints the usage,
// exits 0 and changes nothing; a misspelled option exits 2 naming it before anything runs; a
// destructive default (lab-up over a lab that exists) needs --yes.
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveLabConfig } from '../../lab/lab-config.mjs'
import { writeLabInventory } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

const CLUSTER_SCRIPTS = [
  'bringup',
  'status',
  'switchover',
  'maintenance',
  'rejoin',
  'add-node',
  'teardown',
  'replace-monitor',
  'cluster-exporter',
  'backup',
  'restore',
].map((name) => `scripts/${name}.mjs`)
const ENTRY_POINTS = [
  ...CLUSTER_SCRIPTS,
  'scripts/lab-up.mjs',
  'scripts/lab-down.mjs',
  'scripts/api-service.mjs',
  'lab/cli.mjs',
  'bench/lab-failover.mjs',
  'bench/gorm-dead-host.mjs',
]

describe('every entry point', () => {
  it.each(ENTRY_POINTS)('%s --help prints its usage and exits 0', async (script) => {
    const out = await runScript(script, ['--help'])
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout).toMatch(/usage: /)
  })

  it.each(ENTRY_POINTS)('%s exits 2 naming a misspelled option', async (script) => {
    const out = await runScript(script, ['--nmae', 'x'])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('unknown option --nmae')
  })
})

describe('lab-up over a lab that exists', () => {
  // A lab directory that only looks like one (a marker file): nothing here may touch it.
  const lab = resolveLabConfig({ name: 'pghopt', subnet: '10.213.61.0/24', vms: 3 })
  const marker = path.join(lab.dir, 'marker')
  /** @type {string} */
  let inventory
  /** @type {string} */
  let inventoryDir

  beforeAll(async () => {
    const labInventory = await writeLabInventory({ name: lab.name, subnet: lab.subnet })
    inventory = labInventory.file
    inventoryDir = labInventory.dir
    await fs.mkdir(lab.dir, { recursive: true })
    await fs.writeFile(marker, 'untouched\n')
  })
  afterAll(async () => {
    await fs.rm(lab.dir, { recursive: true, force: true })
    await fs.rm(inventoryDir, { recursive: true, force: true })
  })

  it('--help changes nothing, even with other options', async () => {
    const out = await runScript('scripts/lab-up.mjs', ['--inventory', inventory, '--no-api', '--help'])
    expect(out.code).toBe(0)
    expect(await fs.readFile(marker, 'utf8')).toBe('untouched\n')
  })

  it('a bad option changes nothing', async () => {
    const out = await runScript('scripts/lab-up.mjs', ['--inventory', inventory, '--no-api', '--api-prot', '3001'])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain('unknown option --api-prot')
    expect(await fs.readFile(marker, 'utf8')).toBe('untouched\n')
  })

  it('without --yes it refuses to delete the lab, saying so', async () => {
    const out = await runScript('scripts/lab-up.mjs', ['--inventory', inventory, '--no-api'])
    expect(out.code).toBe(2)
    expect(out.stderr).toContain(`lab ${lab.name} already exists`)
    expect(out.stderr).toContain('--yes')
    expect(await fs.readFile(marker, 'utf8')).toBe('untouched\n')
  })
})
