// /v1/orders: keyed, replayable creation; reads from the primary, or from a standby when the
// client accepts slightly stale data (?consistency=eventual).
import express, { Router } from 'express'
import { Problem, problems } from '../http/problem.js'
import { methodNotAllowed, rejectEmptyBody, requireJson } from '../http/error-handler.js'
import type { RunDbWork } from '../http/db-retry.js'
import { orderJson, type OrderRepository } from './order-repository.js'
import {
  fieldErrors,
  getQuerySchema,
  idempotencyKeySchema,
  listQuerySchema,
  orderIdSchema,
  orderInputSchema,
  parseOrderId,
} from './order-schema.js'
import { requestHash } from './request-hash.js'

// Not strict: any JSON value parses, so `null` or `[]` is answered "expected a JSON object"
// rather than "not valid JSON".
const jsonBody = express.json({ limit: '64kb', type: 'application/json', strict: false, verify: rejectEmptyBody })

export function orderRoutes({ orders, runDbWork }: { orders: OrderRepository; runDbWork: RunDbWork }): Router {
  const router = Router()

  router.post('/', requireJson, jsonBody, async (req, res) => {
    const keyHeader = req.get('Idempotency-Key')
    if (keyHeader === undefined) {
      throw new Problem({
        status: 400,
        code: 'IDEMPOTENCY_KEY_MISSING',
        title: 'Idempotency-Key header required',
        detail:
          'send a new Idempotency-Key with every new order, e.g. a UUID: $(cat /proc/sys/kernel/random/uuid) in a Linux shell, crypto.randomUUID() in JavaScript; reuse it to retry',
      })
    }
    const key = idempotencyKeySchema.safeParse(keyHeader)
    const notObject = jsonKind(req.body)
    const input = orderInputSchema.safeParse(req.body)
    const bodyErrors = notObject
      ? [{ path: 'body', message: `expected a JSON object, got ${notObject}` }]
      : input.success
        ? []
        : fieldErrors('body', input.error)
    const errors = [...(key.success ? [] : fieldErrors('header.idempotency-key', key.error)), ...bodyErrors]
    if (!key.success || !input.success) throw problems.validation(errors)

    const context = { idempotencyKey: key.data, requestHash: requestHash(input.data), requestId: String(req.id) }
    const { order, outcome } = await runDbWork(() => orders.createOnce(input.data, context))
    res
      .status(outcome === 'created' ? 201 : 200)
      .location(`${req.baseUrl}/${order.id}`)
      .json(orderJson(order))
  })

  router.get('/', async (req, res) => {
    const query = listQuerySchema.safeParse(req.query)
    if (!query.success) throw problems.validation(fieldErrors('query', query.error))
    const beforeId = query.data.cursor === undefined ? undefined : decodeCursor(query.data.cursor)
    const { limit, consistency } = query.data
    // One row more than the page: a cursor only when a further row exists, never one to an empty page.
    const rows = await runDbWork(() => orders.list({ limit: limit + 1, ...(beforeId !== undefined && { beforeId }) }, consistency))
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    res.json({ data: page.map(orderJson), nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null })
  })
  router.all('/', methodNotAllowed(['GET', 'POST']))

  router.get('/:id', async (req, res) => {
    const id = orderIdSchema.safeParse(req.params.id)
    const query = getQuerySchema.safeParse(req.query)
    const errors = [...(id.success ? [] : fieldErrors('path.id', id.error)), ...(query.success ? [] : fieldErrors('query', query.error))]
    if (!id.success || !query.success) throw problems.validation(errors)
    const order = await runDbWork(() => orders.findById(id.data, query.data.consistency))
    if (!order) throw problems.notFound(`order ${id.data}`)
    res.json(orderJson(order))
  })
  router.all('/:id', methodNotAllowed(['GET']))

  return router
}

// Opaque to clients, so the ordering key can change without breaking them.
function encodeCursor(id: bigint): string {
  return Buffer.from(`o:${id}`).toString('base64url')
}

function decodeCursor(cursor: string): bigint {
  const match = /^o:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  const id = match?.[1] === undefined ? undefined : parseOrderId(match[1])
  if (id === undefined) throw problems.validation([{ path: 'query.cursor', message: 'is not a cursor this API returned' }])
  return id
}

/** What a parsed JSON body is when it is not an object (null, an array, ...); undefined for an object. */
function jsonKind(body: unknown): string | undefined {
  if (body === null) return 'null'
  if (Array.isArray(body)) return 'an array'
  if (typeof body === 'object') return undefined
  return typeof body === 'number' ? 'a number' : typeof body === 'string' ? 'a string' : typeof body === 'boolean' ? 'a boolean' : 'no body'
}
