// `npm run drill` in CI: switchover, power-off and isolate-primary on the fast profile, through
// the API, with the Node engine. Fails on any lost or duplicated write, two primaries taking
// writes, a cluster that does not converge, or an error answer during a switchover; timings are printed and written to
// bench/results/, never asserted (a loaded machine is slow, not wrong).
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { labStatus } from '@pg-ha/deploy/lab'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { drillScript, startDrillLab } from '../support/drill-lab.mjs'

const resultsDir = path.resolve(import.meta.dirname, '../../../bench/results')
// Under a minute per scenario: 5 s of load, the fault, the heal 5 s after the promotion,
// convergence, 2 s more. Enough writes in flight for a 20 s outage at 40/s: none dropped.
const SHORT = ['--rate', '40', '--max-in-flight', '1500', '--duration', '15', '--fault-at', '5', '--heal-after', '5', '--after', '2']
/** @type {Awaited<ReturnType<typeof startDrillLab>> | undefined} */
let lab

beforeAll(async () => {
  lab = await startDrillLab()
})
afterAll(async () => {
  await lab?.stop()
})

/** @param {string[]} args @param {{overSsh?: boolean, onStderr?: (text: string, child: import('node:child_process').ChildProcess) => void}} [options] */
function drill(args, { overSsh = false, onStderr } = {}) {
  const l = /** @type {NonNullable<typeof lab>} */ (lab)
  const child = spawn(
    process.execPath,
    [
      drillScript,
      '--inventory',
      overSsh ? l.sshInventory : l.cluster.inventory.file,
      '--env-file',
      l.cluster.inventory.envFile,
      '--api-url',
      l.apiUrl,
      '--results-dir',
      resultsDir,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
    process.stderr.write(chunk)
    onStderr?.(stderr, child)
  })
  return /** @type {Promise<{code: number, stdout: string, stderr: string}>} */ (
    new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })))
  )
}

/** The reports a drill run wrote, from the paths it logged. @param {string} stderr */
async function reportsOf(stderr) {
  const written = [...stderr.matchAll(/; (\S+drill-\S+\.md)$/gm)].map((m) => String(m[1]))
  return Promise.all(
    written.map(async (markdown) => JSON.parse(await fs.readFile(path.resolve(markdown.replace(/\.md$/, '.json')), 'utf8'))),
  )
}

/** @param {any} report */
function expectNothingLost(report) {
  expect({
    scenario: report.scenario,
    lost: report.verification.lost_ids,
    duplicated: report.verification.duplicated_ids,
    failures: report.failures,
  }).toEqual({ scenario: report.scenario, lost: [], duplicated: [], failures: [] })
}

describe('failover drills through the API (fast profile)', () => {
  it('switchover, power-off and isolate-primary: nothing lost, nothing duplicated, no two primaries', async () => {
    const out = await drill(['--scenario', 'switchover,power-off,isolate-primary', ...SHORT])
    process.stdout.write(out.stdout)
    const reports = await reportsOf(out.stderr)
    expect(reports.map((r) => r.scenario)).toEqual(['switchover', 'power-off', 'isolate-primary'])
    for (const report of reports) {
      expectNothingLost(report)
      expect(report.verification.acknowledged).toBeGreaterThan(200)
      // A planned switchover costs latency, never an error answer (the API retries within its budget).
      if (report.scenario === 'switchover') expect(report.figures.client_errors).toBe(0)
    }
    expect(out.code).toBe(0)
  })

  it("over ssh, as on a user's own VMs: isolate-primary (nft rules over ssh) after --yes; power-off refused", async () => {
    const refused = await drill(['--scenario', 'power-off', '--yes'], { overSsh: true })
    expect(refused.stderr).toMatch(/power-off needs the lab/)
    expect(refused.code).toBe(2)
    const out = await drill(['--scenario', 'isolate-primary', '--yes', ...SHORT], { overSsh: true })
    process.stdout.write(out.stdout)
    const reports = await reportsOf(out.stderr)
    expect(reports.map((r) => r.scenario)).toEqual(['isolate-primary'])
    for (const report of reports) expectNothingLost(report)
    expect(out.code).toBe(0)
  })

  it('Ctrl-C during a fault heals it before the drill exits 130', async () => {
    let sent = false
    const out = await drill(['--scenario', 'partition', '--fault-at', '3', '--heal-after', '600', '--read-rate', '0'], {
      onStderr: (text, child) => {
        if (!sent && /injected on/.test(text)) {
          sent = true
          child.kill('SIGINT')
        }
      },
    })
    expect(out.stderr).toMatch(/SIGINT: healing every injected fault/)
    expect(out.stderr).toMatch(/interrupted; every injected fault was healed/)
    expect(out.code).toBe(130)
    const status = await labStatus(/** @type {NonNullable<typeof lab>} */ (lab).cluster.lab)
    expect(status.vms.map((vm) => [vm.vm, vm.link])).toEqual([
      ['vm1', 'up'],
      ['vm2', 'up'],
      ['vm3', 'up'],
    ])
  })
})
