// `npm run drill` in CI: switchover, power-off and isolate-primary on the fast profile, through
// the API, with the Node engine. Fails on any lost or duplicated write, two primaries taking
// writes, a cluster that does not converge, or an error answer during a switchover; timings are printed and written to
// bench/results/, never asserted (a loaded machine is slow, not wrong).
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { drillScript, startDrillLab } from '../support/drill-lab.mjs'

const resultsDir = path.resolve(import.meta.dirname, '../../../bench/results')
/** @type {Awaited<ReturnType<typeof startDrillLab>> | undefined} */
let lab

beforeAll(async () => {
  lab = await startDrillLab()
})
afterAll(async () => {
  await lab?.stop()
})

/** @param {string[]} args */
function drill(args) {
  const l = /** @type {NonNullable<typeof lab>} */ (lab)
  const child = spawn(process.execPath, [drillScript, '--inventory', l.cluster.inventory.file, '--env-file', l.cluster.inventory.envFile,
    '--api-url', l.apiUrl, '--results-dir', resultsDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => { stdout += chunk })
  child.stderr.on('data', (chunk) => { stderr += chunk; process.stderr.write(chunk) })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
}

describe('failover drills through the API (fast profile)', () => {
  it('switchover, power-off and isolate-primary: nothing lost, nothing duplicated, no two primaries', async () => {
    const out = /** @type {{code: number, stdout: string, stderr: string}} */ (await drill(['--scenario', 'switchover,power-off,isolate-primary', '--rate', '40', '--duration', '30', '--fault-at', '8', '--heal-after', '10', '--after', '3']))
    process.stdout.write(out.stdout)
    const written = [...out.stderr.matchAll(/; (\S+drill-\S+\.md)$/gm)].map((m) => m[1])
    expect(written).toHaveLength(3)
    for (const markdown of written) {
      const report = JSON.parse(await fs.readFile(path.resolve(String(markdown).replace(/\.md$/, '.json')), 'utf8'))
      expect({ scenario: report.scenario, lost: report.verification.lost_ids, duplicated: report.verification.duplicated_ids, failures: report.failures })
        .toEqual({ scenario: report.scenario, lost: [], duplicated: [], failures: [] })
      expect(report.verification.acknowledged).toBeGreaterThan(300)
      // A planned switchover costs latency, never an error answer (the API retries within its budget).
      if (report.scenario === 'switchover') expect(report.figures.client_errors).toBe(0)
    }
    expect(out.code).toBe(0)
  })
})
