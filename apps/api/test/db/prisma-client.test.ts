// The generated client (prisma-client generator, pg driver adapter) against the migrated schema:
// proves the hand-written migration and schema.prisma agree on every column.
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations } from '../../src/db/migrate.js'
import { PrismaClient } from '../../src/generated/prisma/client.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

let server: LocalPostgres
let pool: pg.Pool
let prisma: PrismaClient

beforeAll(async () => {
  server = await startLocalPostgres()
  pool = new pg.Pool({ connectionString: await server.createDatabase('prisma_client') })
  await applyMigrations(pool, MIGRATIONS_DIR)
  const adapter = new PrismaPg(pool)
  prisma = new PrismaClient({ adapter })
})

afterAll(async () => {
  await prisma?.$disconnect()
  await pool?.end()
  await server?.stop()
})

describe('PrismaClient over the migrated schema', () => {
  it('writes and reads back every column of an order', async () => {
    const requestId = randomUUID()
    const items = [{ sku: 'A-1', quantity: 2, unitCents: 1250 }]
    const created = await prisma.order.create({
      data: {
        idempotencyKey: `key-${requestId}`,
        requestHash: 'a'.repeat(64),
        requestId,
        customerId: 'customer-42',
        currency: 'EUR',
        items,
        totalCents: 9_007_199_254_740_993n, // beyond Number.MAX_SAFE_INTEGER: must stay a bigint
        note: 'leave at the door',
      },
    })

    expect(typeof created.id).toBe('bigint')
    expect(created.createdAt).toBeInstanceOf(Date)
    const found = await prisma.order.findUnique({ where: { idempotencyKey: `key-${requestId}` } })
    expect(found).toEqual({ ...created, items })
    expect(found?.totalCents).toBe(9_007_199_254_740_993n)
    expect(found?.note).toBe('leave at the door')
  })

  it('enforces the unique idempotency key (P2002)', async () => {
    const data = {
      idempotencyKey: 'same-key',
      requestHash: 'b'.repeat(64),
      requestId: randomUUID(),
      customerId: 'c',
      currency: 'USD',
      items: [],
      totalCents: 0n,
    }
    await prisma.order.create({ data })
    await expect(prisma.order.create({ data: { ...data, requestId: randomUUID() } })).rejects.toMatchObject({ code: 'P2002' })
  })

  it('pages by primary key (keyset)', async () => {
    const page = await prisma.order.findMany({ where: { id: { gt: 0n } }, orderBy: { id: 'asc' }, take: 10 })
    expect(page.map((o) => o.id)).toEqual([...page.map((o) => o.id)].sort((a, b) => (a < b ? -1 : 1)))
    expect(page.length).toBeGreaterThanOrEqual(2)
  })
})
