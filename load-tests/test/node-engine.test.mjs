// The Node engine against a local HTTP server that plays the API: the open schedule holds while
// answers stall (slots it cannot start are dropped and recorded), failed writes are retried with
// the same key and body, and a 4xx is never retried.
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { runNodeEngine } from '../engine/node-engine.mjs'
import { resolveSettings } from '../lib/scenario.js'

/** @type {http.Server | undefined} */
let server
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

/**
 * @param {(req: {key: string | undefined, body: any, seen: number}, res: http.ServerResponse) => void} answer
 *   seen: how many times this key came before
 */
async function fakeApi(answer) {
  /** @type {Map<string, number>} */
  const seen = new Map()
  /** @type {Array<{key: string | undefined, body: string}>} */
  const requests = []
  server = http.createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => {
      text += chunk
    })
    req.on('end', () => {
      const key = /** @type {string | undefined} */ (req.headers['idempotency-key'])
      if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'application/json' }).end('[]')
      requests.push({ key, body: text })
      const count = seen.get(key ?? '') ?? 0
      seen.set(key ?? '', count + 1)
      answer({ key, body: JSON.parse(text), seen: count }, res)
    })
  })
  await new Promise((resolve) => server?.listen(0, '127.0.0.1', () => resolve(undefined)))
  const address = /** @type {import('node:net').AddressInfo} */ (server.address())
  return { url: `http://127.0.0.1:${address.port}`, requests }
}

function collect() {
  /** @type {import('../engine/records.mjs').AttemptRecord[]} */
  const records = []
  return { records, write: (/** @type {import('../engine/records.mjs').AttemptRecord} */ r) => void records.push(r) }
}

const created = (/** @type {http.ServerResponse} */ res, /** @type {number} */ id) =>
  res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: String(id) }))

describe('the Node engine', () => {
  it('keeps the schedule while answers stall: what cannot start is dropped and recorded, not skipped', async () => {
    let id = 0
    const api = await fakeApi((_req, res) => void setTimeout(() => created(res, ++id), 300))
    const out = collect()
    const settings = resolveSettings({ BASE_URL: api.url, RATE: '100', DURATION: '1', READ_RATE: '0', MAX_IN_FLIGHT: '5' })
    const run = await runNodeEngine(settings, out)
    const dropped = out.records.filter((r) => r.outcome === 'dropped')
    expect(run.writesStarted + run.writesDropped).toBe(100)
    expect(run.writesDropped).toBeGreaterThan(50)
    expect(dropped).toHaveLength(run.writesDropped)
    // Started slots started on time: the stall did not push the schedule back.
    const late = out.records.filter((r) => r.outcome === 'acked').map((r) => Number(r.start_ms) - r.scheduled_ms)
    expect(Math.max(...late)).toBeLessThan(100)
    expect(run.writesAcked).toBe(run.writesStarted)
  })

  it('retries a failed write with the same key and body until it is acknowledged', async () => {
    let id = 0
    const api = await fakeApi((req, res) => {
      if (req.seen === 0)
        return void res.writeHead(503, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: 'DATABASE_UNAVAILABLE' }))
      if (req.seen === 1) return void res.socket?.destroy()
      created(res, ++id)
    })
    const out = collect()
    const run = await runNodeEngine(resolveSettings({ BASE_URL: api.url, RATE: '10', DURATION: '1', READ_RATE: '0' }), out)
    expect(run.writesAcked).toBe(10)
    for (const key of new Set(api.requests.map((r) => r.key))) {
      const bodies = api.requests.filter((r) => r.key === key).map((r) => r.body)
      expect(bodies).toHaveLength(3)
      expect(new Set(bodies).size).toBe(1)
      const attempts = out.records.filter((r) => r.key === key).sort((a, b) => a.attempt - b.attempt)
      expect(attempts.map((r) => [r.attempt, r.status, r.outcome])).toEqual([
        [1, 503, 'retry'],
        [2, 0, 'retry'],
        [3, 201, 'acked'],
      ])
      expect(attempts[0]?.error).toBe('DATABASE_UNAVAILABLE')
      expect(attempts[1]?.error).toBeTruthy()
    }
    // The logical id rides in the note, a column with no unique index.
    expect(JSON.parse(api.requests[0]?.body ?? '{}').note).toBe(`drill:${api.requests[0]?.key}`)
  })

  it('never retries a rejected write (4xx other than 408/425/429)', async () => {
    const api = await fakeApi(
      (_req, res) =>
        void res.writeHead(422, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: 'REQUEST_INVALID' })),
    )
    const out = collect()
    const run = await runNodeEngine(resolveSettings({ BASE_URL: api.url, RATE: '5', DURATION: '1', READ_RATE: '0' }), out)
    expect(run.writesAcked).toBe(0)
    expect(api.requests).toHaveLength(5)
    expect(out.records.every((r) => r.outcome === 'rejected' && r.attempt === 1)).toBe(true)
  })

  it('gives a write up when its retry budget is spent', async () => {
    const api = await fakeApi((_req, res) => void res.writeHead(503).end())
    const out = collect()
    const run = await runNodeEngine(
      resolveSettings({ BASE_URL: api.url, RATE: '2', DURATION: '1', READ_RATE: '0', RETRY_BUDGET_MS: '500' }),
      out,
    )
    expect(run.writesAcked).toBe(0)
    for (const key of new Set(out.records.map((r) => r.key))) {
      const attempts = out.records.filter((r) => r.key === key)
      expect(attempts.length).toBeGreaterThan(1)
      expect(Math.max(...attempts.map((r) => Number(r.start_ms))) - Math.min(...attempts.map((r) => Number(r.start_ms)))).toBeLessThan(500)
    }
  })
})
