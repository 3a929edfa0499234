// Thousands of random and malformed requests: whatever a client sends, the answer is never a
// 5xx and the process never crashes.
import http from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { orderBody, startApi, type RunningApi } from '../support/api-harness.js'

const cluster = inject('labCluster')
let api: RunningApi

beforeAll(async () => {
  api = await startApi(cluster.databaseUrl)
})
afterAll(async () => {
  await api.close()
})

interface RawRequest {
  method: string
  path: string
  headers: Record<string, string>
  body: string | Buffer | undefined
}

function send({ method, path, headers, body }: RawRequest): Promise<number> {
  const { port } = new URL(api.url)
  return new Promise((resolve, reject) => {
    // A connection per request: reusing one the server is closing (it answered before reading a
    // refused body) would fail on the client's side, not the server's.
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

// A request target is visible ASCII (RFC 9112); anything else is refused by Node's HTTP parser
// before the application sees it. Unicode arrives percent-encoded.
const pathChar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c))
const pathTail = fc.oneof(
  fc.string({ unit: pathChar, maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
)
const pathArb = fc.oneof(
  fc.constantFrom(
    '/v1/orders',
    '/v1/orders/',
    '/v1/orders/1',
    '/v1/cluster',
    '/healthz',
    '/readyz',
    '/metrics',
    '/',
    '/v1',
    '/v1/orders/../cluster',
  ),
  fc
    .tuple(
      fc.constantFrom('/v1/orders/', '/v1/orders?', '/v1/', '/', '/v1/orders?limit=', '/v1/orders?cursor=', '/v1/orders/1?consistency='),
      pathTail,
    )
    .map(([a, b]) => a + b),
  pathTail.map((s) => `/${s}`),
)
// Header values Node accepts: visible latin-1 plus space and tab.
const headerValue = fc.string({
  unit: fc
    .integer({ min: 0x20, max: 0xff })
    .filter((c) => c !== 0x7f)
    .map((c) => String.fromCharCode(c)),
  maxLength: 220,
})
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      'application/problem+json',
      'multipart/form-data',
      'application/json;;',
      '*/*',
    ),
    headerValue,
  ),
  { nil: undefined },
)
const validOrder = fc.integer({ min: 0, max: 1_000_000 }).map((n) => orderBody(n))
const mutatedOrder = fc
  .tuple(validOrder, fc.constantFrom('customerId', 'currency', 'items', 'note', 'extra'), fc.anything())
  .map(([order, field, value]) => ({ ...order, [field]: value }))
const bodyArb = fc.oneof(
  fc.constant(undefined),
  fc.json(),
  validOrder.map((o) => JSON.stringify(o)),
  mutatedOrder.map((o) => {
    try {
      return JSON.stringify(o) ?? 'null'
    } catch {
      return '{}'
    }
  }),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
)
// Orders that are almost right: the paths through validation and the database.
const orderPostArb: fc.Arbitrary<RawRequest> = fc
  .record({
    idempotencyKey: fc.oneof(fc.uuid(), fc.uuid(), headerValue),
    body: fc.oneof(
      validOrder.map((o) => JSON.stringify(o)),
      mutatedOrder.map((o) => {
        try {
          return JSON.stringify(o) ?? 'null'
        } catch {
          return '{}'
        }
      }),
    ),
  })
  .map(({ idempotencyKey, body }) => ({
    method: 'POST',
    path: '/v1/orders',
    headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body,
  }))
const anyRequestArb: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
    path: pathArb,
    contentType,
    idempotencyKey: fc.option(fc.oneof(fc.uuid(), headerValue), { nil: undefined }),
    body: bodyArb,
  })
  .map(({ method, path, contentType, idempotencyKey, body }) => ({
    method,
    path,
    headers: {
      ...(contentType !== undefined && { 'content-type': contentType }),
      ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
    },
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  }))
const requestArb = fc.oneof({ arbitrary: anyRequestArb, weight: 2 }, { arbitrary: orderPostArb, weight: 1 })

describe('fuzzing the HTTP surface', () => {
  it('never answers 5xx to anything a client can send', async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(requestArb, async (request) => {
        const status = await send(request)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
        expect(status, `${request.method} ${request.path}`).toBeLessThan(500)
        expect(status).toBeGreaterThanOrEqual(200)
      }),
      { numRuns: 3000 },
    )
    process.stdout.write(`fuzz: statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`)
    // The generator must reach the interesting answers, or the property proves little.
    for (const status of [200, 201, 400, 404, 405, 415]) expect(statuses.get(status), `status ${status} reached`).toBeGreaterThan(0)
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200)
  })
})
