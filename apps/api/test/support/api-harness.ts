// The API in-process on a loopback port, over real db-ha pools to the lab cluster.
import type { AddressInfo } from 'node:net'
import { pino } from 'pino'
import { createApp } from '../../src/app.js'
import { loadEnv } from '../../src/config/env.js'
import { createDeps, type Deps } from '../../src/deps.js'

export interface RunningApi {
  url: string
  deps: Deps
  close(): Promise<void>
}

export async function startApi(databaseUrl: string, env: Record<string, string> = {}): Promise<RunningApi> {
  const settings = loadEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...env })
  const deps = createDeps(settings, pino({ level: settings.LOG_LEVEL }))
  const server = createApp(deps).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    deps,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await deps.close()
    },
  }
}

/** A valid order body, varied by `n`. */
export function orderBody(n = 1) {
  return { customerId: `c-${n % 7}`, currency: 'EUR', items: [{ sku: `sku-${n}`, quantity: 1 + (n % 5), unitPriceCents: 100 * n }] }
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** A response body as JSON, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function json(res: Response): Promise<any> {
  return res.json()
}
