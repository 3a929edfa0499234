// HaPool evicts a suspect host's idle connections through two private members of pg-pool, which
// has no public way to: `_idle`, its list of idle clients, and `_remove`, which ends one and
// forgets it. A pg-pool without them is refused when the pool is built, not at the first failover.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type pg from 'pg'
import { PgPoolUnsupportedError } from '../errors/pg-pool-unsupported-error.js'

export interface PgPoolInternals<Client = pg.Client> {
  _idle: { client: Client }[]
  _remove(client: Client): void
}

/** The members of PgPoolInternals a pool lacks (none on pg-pool 3.x). */
export function missingPgPoolInternals(pool: object): string[] {
  const { _idle, _remove } = pool as { _idle?: unknown; _remove?: unknown }
  return [...(Array.isArray(_idle) ? [] : ['_idle']), ...(typeof _remove === 'function' ? [] : ['_remove'])]
}

/** The pool seen through its pg-pool internals; @throws PgPoolUnsupportedError when it lacks one. */
export function pgPoolInternals<Client = pg.Client>(pool: pg.Pool): PgPoolInternals<Client> {
  const missing = missingPgPoolInternals(pool)
  if (missing.length > 0) throw new PgPoolUnsupportedError(missing, pgPoolVersion())
  return pool as unknown as PgPoolInternals<Client>
}

/**
 * The version of the pg-pool that `pg` loads, or undefined; read only to word the error. Resolved
 * from the working directory rather than import.meta, which a copy of db-ha compiled to CommonJS
 * would not have.
 */
export function pgPoolVersion(): string | undefined {
  try {
    const fromCwd = createRequire(path.join(process.cwd(), 'noop.js'))
    const entry = createRequire(fromCwd.resolve('pg')).resolve('pg-pool')
    // pg-pool's exports do not include its package.json: find it above the entry point.
    for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const file = path.join(dir, 'package.json')
      if (!fs.existsSync(file)) continue
      const { name, version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown }
      return name === 'pg-pool' && typeof version === 'string' ? version : undefined
    }
  } catch {
    // Not resolvable from here (another working directory, a bundle): the error goes without it.
  }
  return undefined
}
