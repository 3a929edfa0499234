// The API in-process over a throwaway local Postgres (one host, no lab): answers that must say
// exactly what is wrong, the metrics' labels, pagination's last page and /v1/cluster's view.
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
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
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^\/problems\//), title: expect.any(String), instance: expect.any(String) })
  const text = JSON.stringify(body)
  for (const secret of [server.password, 'postgresql://', 'node_modules']) expect(text).not.toContain(secret)
  expect(text, 'a stack frame').not.toMatch(/\bat .*:\d+:\d+/)
  return body
}

describe('metrics', () => {
  it('labels error responses with the same route as successes (route="/v1/orders/")', async () => {
    const key = randomUUID()
    expect((await post(orders(), orderBody(1), { 'idempotency-key': key })).status).toBe(201)
    await expectProblem(await post(orders(), '{"customerId": ', { 'idempotency-key': randomUUID() }), 400, 'INVALID_JSON')
    await expectProblem(await post(orders(), orderBody(2), { 'idempotency-key': key }), 409, 'IDEMPOTENCY_KEY_REUSED')
    await expectProblem(await post(orders(), { ...orderBody(3), note: 'x'.repeat(70_000) }, { 'idempotency-key': randomUUID() }), 413, 'PAYLOAD_TOO_LARGE')
    await expectProblem(await post(orders(), orderBody(4), { 'idempotency-key': randomUUID(), 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
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
