// The API in-process over a throwaway local Postgres (one host, no lab): answers that must say
// exactly what is wrong, the metrics' labels, pagination's last page and /v1/cluster's view.
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations } from '../../src/db/migrate.js'
import { json, orderBody, post, startApi, type RunningApi } from '../support/api-harness.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

let server: LocalPostgres
let api: RunningApi
const orders = () => `${api.url}/v1/orders`

beforeAll(async () => {
  server = await startLocalPostgres()
  const url = await server.createDatabase('api_answers')
  const pool = new pg.Pool({ connectionString: url })
  try {
    await applyMigrations(pool, MIGRATIONS_DIR)
  } finally {
    await pool.end()
  }
  api = await startApi(url)
})

afterAll(async () => {
  await api?.close()
  await server?.stop()
})

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  const body = await json(res)
  expect({ status: res.status, code: body.code }).toEqual({ status, code })
  expect(body).toMatchObject({
    status,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
    instance: expect.any(String),
  })
  const text = JSON.stringify(body)
  for (const secret of [server.password, 'postgresql://', 'node_modules']) expect(text).not.toContain(secret)
  expect(text, 'a stack frame').not.toMatch(/\bat .*:\d+:\d+/)
  return body
}

/** A raw request, for what fetch will not send (a POST with no body and no Content-Length). */
function rawRequest(
  path: string,
  { method = 'POST', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: Buffer },
) {
  return new Promise<Response>((resolve, reject) => {
    const req = request(`${api.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: res.headers as Record<string, string> })),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('metrics', () => {
  it('labels error responses with the same route as successes (route="/v1/orders/")', async () => {
    const key = randomUUID()
    expect((await post(orders(), orderBody(1), { 'idempotency-key': key })).status).toBe(201)
    await expectProblem(await post(orders(), '{"customerId": ', { 'idempotency-key': randomUUID() }), 400, 'INVALID_JSON')
    await expectProblem(await post(orders(), orderBody(2), { 'idempotency-key': key }), 409, 'IDEMPOTENCY_KEY_REUSED')
    await expectProblem(
      await post(orders(), { ...orderBody(3), note: 'x'.repeat(70_000) }, { 'idempotency-key': randomUUID() }),
      413,
      'PAYLOAD_TOO_LARGE',
    )
    await expectProblem(
      await post(orders(), orderBody(4), { 'idempotency-key': randomUUID(), 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    )
    await expectProblem(await fetch(`${orders()}/987654321`), 404, 'NOT_FOUND')

    const text = await (await fetch(`${api.url}/metrics`)).text()
    for (const status of ['201', '400', '409', '413', '415']) {
      expect(text).toMatch(new RegExp(`http_requests_total\\{method="POST",route="/v1/orders/",status="${status}"\\} [1-9]`))
    }
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/orders\/:id",status="404"\} [1-9]/)
    expect(text, 'a route label without its router prefix').not.toMatch(/route="\/(:id)?"/)
  })

  it('exports the failovers and rediscoveries the pools observed as counters (_total)', async () => {
    expect((await fetch(orders())).status).toBe(200)
    const text = await (await fetch(`${api.url}/metrics`)).text()
    expect(text).toMatch(/# TYPE dbha_failovers_observed_total counter/)
    expect(text).toMatch(/dbha_failovers_observed_total\{pool="primary"\} 0/)
    expect(text).toMatch(/# TYPE dbha_rediscoveries_total counter/)
    expect(text).toMatch(/dbha_rediscoveries_total\{pool="primary"\} [1-9]/)
    expect(text).not.toMatch(/^dbha_failovers_observed\{/m)
  })
})

describe('answers that say what is wrong', () => {
  it('400 VALIDATION_FAILED "expected a JSON object" for JSON that is not an object (null, a number, a string, an array)', async () => {
    for (const body of ['null', '42', '"order"', '[]', ' null ']) {
      const problem = await expectProblem(await post(orders(), body, { 'idempotency-key': randomUUID() }), 400, 'VALIDATION_FAILED')
      expect(problem.errors, body).toEqual([{ path: 'body', message: expect.stringMatching(/^expected a JSON object/) }])
      expect(problem.detail).not.toMatch(/not valid JSON/i)
    }
  })

  it('400 EMPTY_BODY for a JSON content type with an empty body, with or without Content-Length', async () => {
    const headers = { 'content-type': 'application/json', 'idempotency-key': randomUUID() }
    const withLength = await expectProblem(
      await rawRequest('/v1/orders', { headers: { ...headers, 'content-length': '0' } }),
      400,
      'EMPTY_BODY',
    )
    expect(withLength.detail).toMatch(/JSON object/)
    await expectProblem(await rawRequest('/v1/orders', { headers }), 400, 'EMPTY_BODY')
    await expectProblem(await rawRequest('/v1/orders', { headers: { ...headers, 'transfer-encoding': 'chunked' } }), 400, 'EMPTY_BODY')
    await expectProblem(
      await rawRequest('/v1/orders', { headers: { ...headers, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(0)) }),
      400,
      'EMPTY_BODY',
    )
  })

  it('400 BODY_NOT_DECOMPRESSED naming gzip for a gzip body that does not decompress; a good gzip body is accepted', async () => {
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip', 'idempotency-key': randomUUID() }
    const problem = await expectProblem(
      await rawRequest('/v1/orders', { headers, body: Buffer.from('not gzip at all, just bytes') }),
      400,
      'BODY_NOT_DECOMPRESSED',
    )
    expect(problem.detail).toMatch(/could not be decompressed \(gzip\)/)
    const truncated = gzipSync(JSON.stringify(orderBody(5))).subarray(0, 20)
    await expectProblem(
      await rawRequest('/v1/orders', { headers: { ...headers, 'idempotency-key': randomUUID() }, body: truncated }),
      400,
      'BODY_NOT_DECOMPRESSED',
    )
    const ok = await rawRequest('/v1/orders', {
      headers: { ...headers, 'idempotency-key': randomUUID() },
      body: gzipSync(JSON.stringify(orderBody(6))),
    })
    expect(ok.status).toBe(201)
  })

  it('400 "out of range" naming the maximum for an order id beyond bigint', async () => {
    for (const id of ['99999999999999999999999', '9223372036854775808']) {
      const problem = await expectProblem(await fetch(`${orders()}/${id}`), 400, 'VALIDATION_FAILED')
      expect(problem.errors, id).toEqual([{ path: 'path.id', message: 'is out of range (at most 9223372036854775807)' }])
    }
    await expectProblem(await fetch(`${orders()}/9223372036854775807`), 404, 'NOT_FOUND')
    const notANumber = await expectProblem(await fetch(`${orders()}/abc`), 400, 'VALIDATION_FAILED')
    expect(notANumber.errors).toEqual([{ path: 'path.id', message: 'must be a positive integer' }])
  })

  it('400 for a cursor beyond bigint, as for any cursor this API did not return', async () => {
    const cursor = Buffer.from('o:9999999999999999999').toString('base64url')
    const problem = await expectProblem(await fetch(`${orders()}?cursor=${cursor}`), 400, 'VALIDATION_FAILED')
    expect(problem.errors[0].path).toBe('query.cursor')
  })

  it('400 IDEMPOTENCY_KEY_MISSING says how to make a key', async () => {
    const problem = await expectProblem(await post(orders(), orderBody()), 400, 'IDEMPOTENCY_KEY_MISSING')
    expect(problem.detail).toContain('/proc/sys/kernel/random/uuid')
    expect(problem.detail).toContain('crypto.randomUUID()')
  })
})

describe('GET /v1/orders', () => {
  it('hands out no cursor on the last page (no cursor to an empty page)', async () => {
    for (let i = 0; i < 3; i++) expect((await post(orders(), orderBody(20 + i), { 'idempotency-key': randomUUID() })).status).toBe(201)
    const { rows } = await api.deps.pool.query<{ n: number }>('select count(*)::int as n from orders')
    const total = rows[0]?.n ?? 0
    expect(total).toBeGreaterThan(2)

    const whole = await json(await fetch(`${orders()}?limit=${total}`))
    expect(whole.data).toHaveLength(total)
    expect(whole.nextCursor).toBeNull()

    const first = await json(await fetch(`${orders()}?limit=${total - 1}`))
    expect(first.data).toHaveLength(total - 1)
    expect(first.nextCursor).toEqual(expect.any(String))
    const last = await json(await fetch(`${orders()}?limit=${total - 1}&cursor=${first.nextCursor}`))
    expect(last.data).toHaveLength(1)
    expect(last.nextCursor).toBeNull()
  })

  it('has every field of its response documented in the API table of the README', async () => {
    const page = await json(await fetch(`${orders()}?limit=1`))
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    const row = readme.split('\n').find((line) => line.startsWith('| `GET /v1/orders?'))
    expect(row).toBeDefined()
    for (const field of Object.keys(page)) expect(row, field).toContain(`\`${field}\``)
    // The order itself, as the README shows it.
    for (const field of Object.keys(page.data[0])) expect(readme, `order field ${field}`).toContain(`"${field}":`)
  })
})

describe('GET /v1/cluster', () => {
  it('reports the host the replica pool is connected to', async () => {
    expect((await fetch(`${orders()}?consistency=eventual`)).status).toBe(200)
    expect(api.deps.readPool.totalCount).toBeGreaterThan(0)
    const body = await json(await fetch(`${api.url}/v1/cluster`))
    const host = `127.0.0.1:${server.port}`
    expect(body.dbHa.primary.currentHost).toBe(host)
    expect(body.dbHa.replica.currentHost).toBe(host)
  })
})
