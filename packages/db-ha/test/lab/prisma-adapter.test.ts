// Prisma's pg adapter over a db-ha pool: queries go through our pool (not a plain pool Prisma
// would build from a config), so they land on the primary; a pool we built is ended with it.
import { describe, expect, inject, it } from 'vitest'
import { createPool } from '../../src/pool/index.js'
import { createPrismaAdapter } from '../../src/prisma/index.js'
import { primaryOf } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const WHERE = { sql: 'select host(inet_server_addr()) as addr, pg_is_in_recovery() as standby', args: [], argTypes: [] }

describe('createPrismaAdapter', () => {
  it('runs Prisma queries through the db-ha pool it is given, and leaves that pool open', async () => {
    const primary = await primaryOf(cluster)
    const pool = createPool(cluster.databaseUrl)
    const adapter = await createPrismaAdapter(pool).connect()
    const result = await adapter.queryRaw(WHERE)
    expect(result.rows).toEqual([[primary.host, false]])
    expect(adapter.underlyingDriver()).toBe(pool)
    expect(pool.snapshot().connectionsPerHost[`${primary.host}:5432`]).toBeGreaterThan(0)
    await adapter.dispose()
    expect(pool.ended).toBe(false)
    await pool.end()
  })

  it('builds its own db-ha pool from a DSN and ends it on dispose', async () => {
    const primary = await primaryOf(cluster)
    const adapter = await createPrismaAdapter({ dsn: cluster.databaseUrl, pool: { max: 2 } }).connect()
    expect((await adapter.queryRaw(WHERE)).rows).toEqual([[primary.host, false]])
    const pool = adapter.underlyingDriver()
    expect(pool.constructor.name).toBe('HaPool')
    await adapter.dispose()
    expect(pool.ended).toBe(true)
  })
})
