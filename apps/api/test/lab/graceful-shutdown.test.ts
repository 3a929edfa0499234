// SIGTERM while a request is in flight: the request completes, new connections are refused,
// the process exits 0. Run as the real process, started the way `npm run dev`/`start` does.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { createPool } from '@pg-ha/db-ha'
import { describe, expect, inject, it } from 'vitest'
import { orderBody, post } from '../support/api-harness.js'
import { waitFor } from '@pg-ha/deploy/cluster'

const cluster = inject('labCluster')
const apiDir = path.resolve(import.meta.dirname, '../..')

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones, exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: apiDir,
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.databaseUrl, PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '10000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const blocker = createPool(cluster.databaseUrl)
    const lock = await blocker.connect()
    try {
      const port = await waitFor(async () => /"port":(\d+)/.exec(output)?.[1], {
        timeoutMs: 30_000,
        what: 'the API to listen',
        intervalMs: 250,
      })
      const url = `http://127.0.0.1:${port}`
      // Hold the table so the order below stays in flight until we let go.
      await lock.query('begin; lock table orders in share row exclusive mode')
      const key = randomUUID()
      const inFlight = post(`${url}/v1/orders`, orderBody(1), { 'idempotency-key': key })
      await new Promise((resolve) => setTimeout(resolve, 500))
      child.kill('SIGTERM')
      await waitFor(async () => output.includes('shutting down'), { timeoutMs: 5000, what: 'the shutdown to start', intervalMs: 250 })
      await expect(fetch(`${url}/healthz`)).rejects.toThrow()
      await lock.query('commit')
      const res = await inFlight
      expect(res.status).toBe(201)
      expect(await exited).toBe(0)
      const { rows } = await blocker.query('select count(*)::int as n from orders where idempotency_key = $1', [key])
      expect(rows[0]).toEqual({ n: 1 })
      expect(output).not.toContain(cluster.password)
    } finally {
      await lock.query('rollback').catch(() => {})
      lock.release()
      await blocker.end()
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  })
})
