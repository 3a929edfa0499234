// What a client may send. Strict: an unknown field is an error, not silently dropped, so a typo
// never turns into an order the client did not mean.
import { z } from 'zod'
import type { FieldError } from '../http/problem.js'

export const orderInputSchema = z.strictObject({
  customerId: z.string().min(1).max(64),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"'),
  items: z
    .array(
      z.strictObject({
        sku: z.string().min(1).max(64),
        quantity: z.number().int().min(1).max(1000),
        unitPriceCents: z.number().int().min(0).max(1_000_000_000),
      }),
    )
    .min(1)
    .max(100),
  note: z.string().max(500).optional(),
})
export type OrderInput = z.infer<typeof orderInputSchema>

// Printable ASCII without spaces, as for other HTTP tokens; long enough for a UUID or a ULID + prefix.
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1 to 200 visible ASCII characters')

export const MAX_PAGE_SIZE = 100
export const listQuerySchema = z.strictObject({
  // Capped rather than refused: asking for more than a page holds is not a client error.
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .default(20)
    .transform((n) => Math.min(n, MAX_PAGE_SIZE)),
  cursor: z.string().max(200).optional(),
  consistency: z.enum(['strong', 'eventual']).default('strong'),
})

export const getQuerySchema = z.strictObject({
  consistency: z.enum(['strong', 'eventual']).default('strong'),
})

/** Order ids are Postgres bigints. */
export const MAX_ORDER_ID = 9_223_372_036_854_775_807n
/** A decimal positive integer that fits a bigint, or undefined. */
export function parseOrderId(text: string): bigint | undefined {
  if (!/^[1-9]\d*$/.test(text) || text.length > 19) return undefined
  const id = BigInt(text)
  return id <= MAX_ORDER_ID ? id : undefined
}

export const orderIdSchema = z
  .string()
  .regex(/^[1-9]\d*$/, { message: 'must be a positive integer', abort: true })
  .refine((text) => parseOrderId(text) !== undefined, `is out of range (at most ${MAX_ORDER_ID})`)
  .transform(BigInt)

/** Zod issues as field errors under `where` (body, query, header.x, path.id). */
export function fieldErrors(where: string, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ path: [where, ...issue.path.map(String)].join('.'), message: issue.message }))
}
