// A lab cluster and an API process of the drill suite's own (lab pghdr on 10.213.64.0/24, the API
// on a free loopback port), so it never touches the lab or the API of `npm run lab`.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { labSshPaths, startLabSshd } from '@pg-ha/deploy/lab'
import { sshLabVars, startLabCluster, stopLabCluster } from '@pg-ha/deploy/testing'
import YAML from 'yaml'
import { $ } from 'zx'

const repoRoot = path.resolve(import.meta.dirname, '../../..')
const apiDir = path.join(repoRoot, 'apps/api')
export const drillScript = path.join(repoRoot, 'load-tests/drill/drill.mjs')
export const LAB = { name: 'pghdr', subnet: '10.213.64.0/24' }

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = /** @type {net.AddressInfo} */ (server.address())
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * The same cluster as a user's real one looks to the scripts: an sshd in every VM, and an
 * inventory that names no lab (no lab_name, no lab_vm), reached over ssh only.
 * @param {Awaited<ReturnType<typeof startLabCluster>>} cluster
 */
async function writeSshInventory(cluster) {
  await startLabSshd(cluster.lab)
  const subnet = cluster.lab.subnet
  const doc = YAML.parse(await fs.readFile(cluster.inventory.file, 'utf8'))
  delete doc.all.vars.lab_name
  Object.assign(doc.all.vars, sshLabVars(subnet, labSshPaths(cluster.lab)))
  for (const group of Object.values(doc.all.children)) {
    for (const host of Object.values(/** @type {{hosts: Record<string, Record<string, unknown>>}} */ (group).hosts)) delete host.lab_vm
  }
  const file = path.join(cluster.inventory.dir, 'over-ssh.yml')
  await fs.writeFile(file, YAML.stringify(doc))
  return file
}

/**
 * The lab cluster (fast profile), migrated, and the built API serving on it. The API's log is
 * printed if it exits before stop(): a drill that cannot reach it fails for that reason.
 */
export async function startDrillLab(lab = LAB) {
  const cluster = await startLabCluster({ ...lab, profile: 'fast' })
  try {
    // The env file's DSN, not one this process may have inherited.
    /** @type {Record<string, string | undefined>} */
    const env = { ...process.env, PGHA_ENV_FILE: cluster.inventory.envFile }
    delete env.DATABASE_URL
    await $({ cwd: apiDir, env, quiet: true })`node dist/db/migrate-cli.js`
    const port = await freePort()
    const logFile = path.join(cluster.inventory.dir, 'api.log')
    const out = openSync(logFile, 'a')
    const api = spawn(process.execPath, ['dist/main.js'], {
      cwd: apiDir,
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', out, out],
    })
    closeSync(out)
    let stopping = false
    api.once('exit', (code, signal) => {
      if (stopping) return
      process.stderr.write(`drill lab: the API exited (${signal ?? code}) before the suite stopped it; its log:\n`)
      fs.readFile(logFile, 'utf8').then(
        (text) => process.stderr.write(text.split('\n').slice(-40).join('\n') + '\n'),
        () => {},
      )
    })
    const url = `http://127.0.0.1:${port}`
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/readyz`).catch(() => null))?.ok) break
      if (api.exitCode !== null || i > 240) throw new Error(`the API did not get ready; see ${logFile}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return {
      cluster,
      apiUrl: url,
      sshInventory: await writeSshInventory(cluster),
      async stop() {
        stopping = true
        api.kill('SIGTERM')
        await new Promise((resolve) => (api.exitCode !== null ? resolve(undefined) : api.once('exit', resolve)))
        await stopLabCluster(cluster)
      },
    }
  } catch (error) {
    await stopLabCluster(cluster)
    throw error
  }
}
