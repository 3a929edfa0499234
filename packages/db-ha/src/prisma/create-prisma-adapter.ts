// Prisma 7 over a db-ha pool. @prisma/adapter-pg recognises a pool only by `instanceof pg.Pool`
// (anything else is taken as a config and a new, plain pool is built from it), which HaPool is;
// keep one copy of `pg` in the dependency tree so the check holds.
import { PrismaPg } from '@prisma/adapter-pg'
import { createPool, type CreatePoolOptions } from '../pool/create-pool.js'
import { HaPool } from '../pool/ha-pool.js'

export type PrismaPgOptions = NonNullable<ConstructorParameters<typeof PrismaPg>[1]>

/**
 * A `PrismaPg` adapter whose connections come from a db-ha pool: pass an existing pool (to read
 * its metrics, or share it), or a DSN / pool options to build one. A pool built here is ended by
 * `prisma.$disconnect()`; one you pass in stays yours to end.
 */
export function createPrismaAdapter(source: HaPool | string | CreatePoolOptions, options: PrismaPgOptions = {}): PrismaPg {
  const owned = !(source instanceof HaPool)
  const pool = source instanceof HaPool ? source : createPool(source)
  return new PrismaPg(pool, { disposeExternalPool: owned, ...options })
}
