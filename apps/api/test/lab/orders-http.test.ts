// The orders API over HTTP, in-process, against the lab cluster: keyed creation, replays,
// conflicts, reads, pagination.
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

describe('POST /v1/orders', () => {
  it('creates an order: 201, Location, the record with its total', async () => {
    const body = {
      customerId: 'c-1',
      currency: 'EUR',
      items: [
        { sku: 'a', quantity: 2, unitPriceCents: 150 },
        { sku: 'b', quantity: 1, unitPriceCents: 99 },
      ],
      note: 'leave at the door',
    }
    const res = await post(orders(), body, { 'idempotency-key': randomUUID() })
    expect(res.status).toBe(201)
    const order = await json(res)
    expect(order).toMatchObject({ customerId: 'c-1', currency: 'EUR', items: body.items, totalCents: 399, note: 'leave at the door' })
    expect(order.id).toMatch(/^\d+$/)
    expect(res.headers.get('location')).toBe(`/v1/orders/${order.id}`)
  })

  it('replays: the same key and body give 200 and the same record, however the JSON is spelled', async () => {
    const key = randomUUID()
    const first = await post(orders(), orderBody(3), { 'idempotency-key': key })
    expect(first.status).toBe(201)
    const created = await json(first)
    const reordered = `{ "items": [{"unitPriceCents": 300, "quantity": 4, "sku": "sku-3"}], "currency": "EUR", "customerId": "c-3" }`
    const replay = await post(orders(), reordered, { 'idempotency-key': key })
    expect(replay.status).toBe(200)
    expect(await json(replay)).toEqual(created)
  })

  it('answers 409 when the key was used with another body, and stores nothing new', async () => {
    const key = randomUUID()
    const first = await json(await post(orders(), orderBody(4), { 'idempotency-key': key }))
    const conflict = await post(orders(), orderBody(5), { 'idempotency-key': key })
    expect(conflict.status).toBe(409)
    expect(conflict.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await json(conflict)).toMatchObject({ status: 409, code: 'IDEMPOTENCY_KEY_REUSED', detail: expect.stringContaining(first.id) })
    const { rows } = await api.deps.pool.query('select count(*)::int as n from orders where idempotency_key = $1', [key])
    expect(rows[0]).toEqual({ n: 1 })
  })

  it('creates exactly one order when the same key arrives concurrently', async () => {
    const key = randomUUID()
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(orders(), orderBody(6), { 'idempotency-key': key })))
    const statuses = responses.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 201])
    const ids = new Set(await Promise.all(responses.map(async (r) => (await json(r)).id)))
    expect(ids.size).toBe(1)
  })
})

describe('GET /v1/orders', () => {
  it('reads an order by id, from the primary or, eventually, from a standby', async () => {
    const created = await json(await post(orders(), orderBody(7), { 'idempotency-key': randomUUID() }))
    const strong = await fetch(`${orders()}/${created.id}`)
    expect(strong.status).toBe(200)
    expect(await json(strong)).toEqual(created)
    const eventual = await fetch(`${orders()}/${created.id}?consistency=eventual`).then(json)
    // A standby may not have replayed it yet; once it has, it is the same record.
    if (eventual.code !== 'NOT_FOUND') expect(eventual).toEqual(created)
  })

  it('pages newest first with an opaque cursor, never repeating or skipping an order', async () => {
    const customer = `page-${randomUUID()}`
    for (let i = 0; i < 7; i++)
      await post(orders(), { ...orderBody(i), customerId: customer.slice(0, 64) }, { 'idempotency-key': randomUUID() })
    // Earlier files of the suite may have written thousands: walk them all, however many.
    const { rows } = await api.deps.pool.query<{ id: string }>('select id::text from orders order by orders.id desc')
    const maxPages = Math.ceil(rows.length / 3) + 1
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: Response = await fetch(`${orders()}?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status).toBe(200)
      const page = (await json(res)) as { data: { id: string }[]; nextCursor: string | null }
      expect(page.data.length).toBeLessThanOrEqual(3)
      seen.push(...page.data.map((o) => o.id))
      cursor = page.nextCursor
      pages++
    } while (cursor && pages < maxPages)
    expect(seen).toEqual(rows.map((r) => r.id))
  })

  it('caps the page size at 100', async () => {
    for (let i = 0; i < 5; i++) await post(orders(), orderBody(100 + i), { 'idempotency-key': randomUUID() })
    const page = await fetch(`${orders()}?limit=100000`).then(json)
    const { rows } = await api.deps.pool.query<{ n: number }>('select count(*)::int as n from orders')
    expect(page.data.length).toBe(Math.min(100, rows[0]?.n ?? 0))
  })
})

describe('GET /v1/cluster', () => {
  it("names the primary that served the request and db-ha's view", async () => {
    const res = await fetch(`${api.url}/v1/cluster`)
    expect(res.status).toBe(200)
    const body = await json(res)
    expect(cluster.addresses).toContain(body.servedBy.address)
    expect(body.servedBy).toMatchObject({ port: 5432, inRecovery: false, timeline: expect.any(Number) })
    expect(body.dbHa.primary.currentHost).toBe(`${body.servedBy.address}:5432`)
  })
})

describe('health and metrics', () => {
  it('is alive and ready while the primary is reachable', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200)
    const ready = await fetch(`${api.url}/readyz`)
    expect(ready.status).toBe(200)
  })

  it('exports HTTP and db-ha metrics for Prometheus', async () => {
    await fetch(`${orders()}?limit=1`)
    const text = await (await fetch(`${api.url}/metrics`)).text()
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/v1\/orders\/",status="200"\} \d+/)
    expect(text).toMatch(/http_request_duration_seconds_bucket\{/)
    expect(text).toMatch(/dbha_current_host_info\{pool="primary",host="[\d.]+:5432"\} 1/)
    expect(text).toMatch(/dbha_failovers_observed_total\{pool="primary"\} \d+/)
    expect(text).toMatch(/dbha_pool_total_connections\{pool="primary"\} [1-9]/)
  })
})
