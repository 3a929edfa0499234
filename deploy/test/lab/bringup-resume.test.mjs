// A bring-up stopped part-way (here: killed right after the first node became primary) is
// finished by running it again: done steps are skipped, the rest happen, the cluster ends healthy.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveLabConfig } from '../../lab/lab-config.mjs'
import { labDown, labUp } from '../../lab/lab.mjs'
import { jsonLines, psql, writeLabInventory } from '../support/lab-cluster.mjs'
import { deployDir, runScript } from '../support/run-script.mjs'

const LAB = { name: 'pghtr', subnet: '10.213.45.0/24' }
const lab = resolveLabConfig(LAB)
/** @type {Awaited<ReturnType<typeof writeLabInventory>>} */
let inventory

beforeAll(async () => {
  await labUp(lab)
  inventory = await writeLabInventory(LAB)
})
afterAll(async () => {
  await labDown(lab)
})

/**
 * Runs bring-up and SIGKILLs it as soon as it reports `stopAfter`.
 * @param {string} stopAfter
 * @returns {Promise<{code: number | null, signal: NodeJS.Signals | null, records: import('../../scripts/lib/progress.mjs').ProgressRecord[]}>}
 */
function bringupKilledAfter(stopAfter) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(deployDir, 'scripts/bringup.mjs'), '--inventory', inventory.file, '--env-output', inventory.envFile, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let stdout = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      if (jsonLines(stdout).some((r) => r.step === stopAfter)) child.kill('SIGKILL')
    })
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, records: jsonLines(stdout) }))
  })
}

describe('bring-up resumed after an interruption', () => {
  it('finishes the cluster without redoing what was done', async () => {
    const first = await bringupKilledAfter('node1: primary')
    expect(first.signal).toBe('SIGKILL')
    expect(first.records.some((r) => r.step === 'node2: create')).toBe(false)

    const second = await runScript('scripts/bringup.mjs', ['--inventory', inventory.file, '--env-output', inventory.envFile, '--json'])
    expect(second.stderr).toBe('')
    expect(second.code).toBe(0)
    const steps = new Map(
      jsonLines(second.stdout)
        .filter((r) => r.event === 'step')
        .map((r) => [`${r.step}@${r.host}`, r.status]),
    )
    expect(steps.get('monitor: create@vm3-monitor')).toBe('ok')
    expect(steps.get('node1: create@vm1')).toBe('ok')
    expect(steps.get('node1: service@vm1')).toBe('ok')
    expect(steps.get('node2: create@vm2')).toBe('changed')
    expect(steps.get('node3: create@vm3')).toBe('changed')
    expect(steps.get('verify@undefined')).toBe('ok')

    /** @type {{healthy: boolean, nodes: Array<{name: string, role: string}>}} status.mjs --json, the fields read here */
    const status = JSON.parse((await runScript('scripts/status.mjs', ['--inventory', inventory.file, '--json'])).stdout)
    expect(status.healthy).toBe(true)
    expect(status.nodes.map((n) => `${n.name}:${n.role}`)).toEqual(['node1:primary', 'node2:secondary', 'node3:secondary'])
    const env = (await import('node:fs')).readFileSync(inventory.envFile, 'utf8')
    const url = /^DATABASE_URL='(.*)'$/m.exec(env)?.[1]
    if (!url) throw new Error(`no DATABASE_URL in ${inventory.envFile}`)
    expect((await psql(url, 'select pg_is_in_recovery()')).stdout).toBe('f')
  })
})
