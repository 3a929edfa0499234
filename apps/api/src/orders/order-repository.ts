// Orders in the database. Creation is idempotent by key: the unique index on idempotency_key
// guarantees one row per key, however often (and from however many requests) it is tried.
import type { PrismaClient } from '../generated/prisma/client.js'
import { Problem } from '../http/problem.js'
import type { OrderInput } from './order-schema.js'

export type Consistency = 'strong' | 'eventual'
type OrderRow = NonNullable<Awaited<ReturnType<PrismaClient['order']['findUnique']>>>

export interface CreateContext {
  idempotencyKey: string
  requestHash: string
  /** The HTTP request: tells our own earlier attempt (lost reply) from another request's row. */
  requestId: string
}

export interface OrderRepository {
  /** 'created' when this request created it; 'replayed' when an earlier request did, with the same body. */
  createOnce(input: OrderInput, context: CreateContext): Promise<{ order: OrderRow; outcome: 'created' | 'replayed' }>
  findById(id: bigint, consistency: Consistency): Promise<OrderRow | null>
  /** Newest first; `beforeId` is the keyset cursor. */
  list(options: { limit: number; beforeId?: bigint }, consistency: Consistency): Promise<OrderRow[]>
}

export function createOrderRepository({ primary, replica }: { primary: PrismaClient; replica: PrismaClient }): OrderRepository {
  const client = (consistency: Consistency) => (consistency === 'eventual' ? replica : primary)
  return {
    async createOnce(input, { idempotencyKey, requestHash, requestId }) {
      const totalCents = input.items.reduce((sum, item) => sum + BigInt(item.quantity) * BigInt(item.unitPriceCents), 0n)
      try {
        const order = await primary.order.create({
          data: {
            idempotencyKey,
            requestHash,
            requestId,
            customerId: input.customerId,
            currency: input.currency,
            items: input.items,
            totalCents,
            note: input.note ?? null,
          },
        })
        return { order, outcome: 'created' }
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'P2002') throw error
      }
      const existing = await primary.order.findUnique({ where: { idempotencyKey } })
      // Unique violation on the key, yet no row: it was deleted in between; let the caller retry.
      if (!existing)
        throw new Problem({
          status: 409,
          code: 'IDEMPOTENCY_KEY_RACE',
          title: 'Concurrent change of this Idempotency-Key',
          detail: 'retry the request',
        })
      if (existing.requestHash !== requestHash) {
        throw new Problem({
          status: 409,
          code: 'IDEMPOTENCY_KEY_REUSED',
          title: 'Idempotency-Key already used with another body',
          detail: `the key was first used for order ${existing.id}; use a new key for a different order`,
        })
      }
      return { order: existing, outcome: existing.requestId === requestId ? 'created' : 'replayed' }
    },

    async findById(id, consistency) {
      return client(consistency).order.findUnique({ where: { id } })
    },

    async list({ limit, beforeId }, consistency) {
      return client(consistency).order.findMany({
        where: beforeId === undefined ? {} : { id: { lt: beforeId } },
        orderBy: { id: 'desc' },
        take: limit,
      })
    },
  }
}

export function orderJson(order: OrderRow) {
  return {
    id: order.id.toString(),
    customerId: order.customerId,
    currency: order.currency,
    items: order.items,
    totalCents: Number(order.totalCents),
    note: order.note,
    createdAt: order.createdAt.toISOString(),
  }
}
