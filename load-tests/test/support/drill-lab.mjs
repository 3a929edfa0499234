// A lab cluster and an API process of the drill suite's own (lab pghdr on 10.213.64.0/24, the API
// on a free loopback port), so it never touches the lab or the API of `npm run lab`.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { startLabCluster, stopLabCluster } from '@pg-ha/deploy/testing'
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

/** The lab cluster (fast profile), migrated, and the built API serving on it. */
export async function startDrillLab() {
  const cluster = await startLabCluster({ ...LAB, profile: 'fast' })
  try {
    // The env file's DSN, not one this process may have inherited.
    /** @type {Record<string, string | undefined>} */
    const env = { ...process.env, PGHA_ENV_FILE: cluster.inventory.envFile }
    delete env.DATABASE_URL
    await $({ cwd: apiDir, env, quiet: true })`node dist/db/migrate-cli.js`
    const port = await freePort()
    const logFile = path.join(cluster.inventory.dir, 'api.log')
    const out = openSync(logFile, 'a')
    const api = spawn(process.execPath, ['dist/main.js'], { cwd: apiDir, env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: ['ignore', out, out] })
    closeSync(out)
    const url = `http://127.0.0.1:${port}`
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/readyz`).catch(() => null))?.ok) break
      if (api.exitCode !== null || i > 240) throw new Error(`the API did not get ready; see ${logFile}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    return {
      cluster,
      apiUrl: url,
      async stop() {
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
