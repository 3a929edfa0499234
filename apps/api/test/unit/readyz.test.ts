// /readyz answers within a second, also while the pool is still looking for the primary (during a
// failover that takes seconds): "not ready", not a probe that hangs.
import type { AddressInfo } from 'node:net'
import type { HaPool } from '@pg-ha/db-ha'
import express from 'express'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { healthRoutes } from '../../src/health/health-routes.js'
import { errorHandler } from '../../src/http/error-handler.js'

let close: (() => void) | undefined
afterEach(() => close?.())

async function serve(query: () => Promise<unknown>): Promise<string> {
  const pool = { query, snapshot: () => ({ currentHost: '10.0.0.11:5432' }) } as unknown as HaPool
  const app = express()
    .use(healthRoutes({ pool, lifecycle: { draining: false }, readyTimeoutMs: 200 }))
    .use(errorHandler(pino({ level: 'silent' })))
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  close = () => server.close()
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('/readyz', () => {
  it('says not ready, at once, while no host has confirmed it takes writes', async () => {
    const base = await serve(() => new Promise(() => {}))
    const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) })
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('1')
    expect(await response.json()).toMatchObject({ code: 'PRIMARY_UNKNOWN' })
  })

  it('is ready when the primary answers', async () => {
    const base = await serve(async () => ({ rows: [] }))
    const response = await fetch(`${base}/readyz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: 'ready', primary: '10.0.0.11:5432' })
  })

  it('says unreachable when the pool gives up', async () => {
    const base = await serve(async () => {
      throw new Error('no host accepts writes')
    })
    expect(await (await fetch(`${base}/readyz`)).json()).toMatchObject({ code: 'PRIMARY_UNREACHABLE' })
  })
})
