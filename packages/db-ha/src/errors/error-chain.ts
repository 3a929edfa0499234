// Errors reach us wrapped: pg-pool sets `cause`, Prisma 7 keeps the driver's error under
// `meta.driverAdapterError` (its details under `.cause`), Node's happy eyeballs uses AggregateError.
const MAX_LINKS = 32

/** The error and everything it wraps, outermost first (breadth-first, cycle-safe). */
export function errorChain(err: unknown): object[] {
  const out: object[] = []
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0 && out.length < MAX_LINKS) {
    const link = queue.shift()
    if (typeof link !== 'object' || link === null || seen.has(link)) continue
    seen.add(link)
    out.push(link)
    const record = link as { cause?: unknown; meta?: { driverAdapterError?: unknown }; errors?: unknown }
    queue.push(record.cause)
    if (typeof record.meta === 'object' && record.meta !== null) queue.push(record.meta.driverAdapterError)
    if (Array.isArray(record.errors)) queue.push(...record.errors)
  }
  return out
}

/** A string-valued own or inherited property, or undefined. */
export function stringField(link: object, name: string): string | undefined {
  const value = (link as Record<string, unknown>)[name]
  return typeof value === 'string' ? value : undefined
}
