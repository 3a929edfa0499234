// Every client mistake gets a specific 4xx as application/problem+json, naming what was wrong and
// where; nothing is stored, and no response carries a stack trace, SQL or the DSN.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { json, orderBody, post, startApi, type RunningApi } from '../support/api-harness.js'

const cluster = inject('labCluster')
let api: RunningApi
const orders = () => `${api.url}/v1/orders`

beforeAll(async () => {
  api = await startApi(cluster.databaseUrl)
})
afterAll(async () => {
  await api.close()
})

async function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  const body = await json(res)
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^\/problems\//),
    title: expect.any(String),
    instance: expect.any(String),
  })
  const text = JSON.stringify(body)
  for (const secret of [cluster.password, 'postgresql://', 'insert into', 'INSERT INTO', 'node_modules']) expect(text).not.toContain(secret)
  expect(text, 'a stack frame').not.toMatch(/\bat .*:\d+:\d+/)
  return body
}

const countByKey = async (key: string) =>
  (await api.deps.pool.query<{ n: number }>('select count(*)::int as n from orders where idempotency_key = $1', [key])).rows[0]?.n

describe('client errors', () => {
  it('400 for a body that is not JSON', async () => {
    const key = randomUUID()
    await expectProblem(await post(orders(), '{"customerId": ', { 'idempotency-key': key }), 400, 'INVALID_JSON')
    expect(await countByKey(key)).toBe(0)
  })

  it('400 with the path of every invalid field', async () => {
    const body = { customerId: '', currency: 'euro', items: [{ sku: 'a', quantity: 0, unitPriceCents: 1.5 }], extra: true }
    const problem = await expectProblem(await post(orders(), body, { 'idempotency-key': randomUUID() }), 400, 'VALIDATION_FAILED')
    const paths = problem.errors.map((e: { path: string }) => e.path)
    expect(paths).toEqual(
      expect.arrayContaining(['body.customerId', 'body.currency', 'body.items.0.quantity', 'body.items.0.unitPriceCents', 'body']),
    )
    expect(problem.errors.find((e: { path: string }) => e.path === 'body').message).toMatch(/extra/)
  })

  it('400 for a JSON body that is not an object, saying so', async () => {
    for (const body of ['[]', '"order"', '42', 'null']) {
      const problem = await expectProblem(await post(orders(), body, { 'idempotency-key': randomUUID() }), 400, 'VALIDATION_FAILED')
      expect(problem.errors[0]).toMatchObject({ path: 'body', message: expect.stringMatching(/^expected a JSON object/) })
    }
  })

  it('400 without an Idempotency-Key, or with a malformed one', async () => {
    await expectProblem(await post(orders(), orderBody()), 400, 'IDEMPOTENCY_KEY_MISSING')
    const problem = await expectProblem(await post(orders(), orderBody(), { 'idempotency-key': 'x'.repeat(201) }), 400, 'VALIDATION_FAILED')
    expect(problem.errors[0].path).toBe('header.idempotency-key')
  })

  it('413 for a body over 64 kB', async () => {
    const key = randomUUID()
    const body = { ...orderBody(), note: 'x'.repeat(70_000) }
    await expectProblem(await post(orders(), body, { 'idempotency-key': key }), 413, 'PAYLOAD_TOO_LARGE')
    expect(await countByKey(key)).toBe(0)
  })

  it('415 for a body that is not application/json', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
      const res = await fetch(orders(), {
        method: 'POST',
        headers: { 'content-type': type, 'idempotency-key': randomUUID() },
        body: JSON.stringify(orderBody()),
      })
      await expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE')
    }
  })

  it('404 for an unknown route and for a missing order; 400 for a malformed id', async () => {
    await expectProblem(await fetch(`${api.url}/v2/orders`), 404, 'ROUTE_NOT_FOUND')
    await expectProblem(await fetch(`${orders()}/999999999999`), 404, 'NOT_FOUND')
    const problem = await expectProblem(await fetch(`${orders()}/abc`), 400, 'VALIDATION_FAILED')
    expect(problem.errors[0].path).toBe('path.id')
  })

  it('405 with Allow for a method a route does not take', async () => {
    const res = await fetch(`${orders()}/1`, { method: 'DELETE' })
    expect(res.headers.get('allow')).toBe('GET')
    await expectProblem(res, 405, 'METHOD_NOT_ALLOWED')
  })

  it('400 for bad list parameters: limit, cursor, consistency, unknown or repeated ones', async () => {
    for (const [query, path] of [
      ['limit=0', 'query.limit'],
      ['limit=abc', 'query.limit'],
      ['cursor=bm9wZQ', 'query.cursor'],
      ['consistency=maybe', 'query.consistency'],
      ['sort=asc', 'query'],
      ['limit=1&limit=2', 'query.limit'],
    ]) {
      const problem = await expectProblem(await fetch(`${orders()}?${query}`), 400, 'VALIDATION_FAILED')
      expect(
        problem.errors.map((e: { path: string }) => e.path),
        query,
      ).toContain(path)
    }
  })
})
