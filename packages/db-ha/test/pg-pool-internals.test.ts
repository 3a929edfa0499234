// HaPool evicts a suspect host's idle connections through pg-pool's private `_idle` and `_remove`.
// A pg-pool without them (a future version) is refused when the pool is built, with a stable code.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { DB_HA_ERROR_CODES, DbHaError, PgPoolUnsupportedError } from '../src/errors/index.js'
import { missingPgPoolInternals, pgPoolVersion } from '../src/pool/pg-pool-internals.js'
import { createPool, HaPool } from '../src/pool/index.js'

// Nothing connects: a dead port, and the pools are ended unused.
const DSN = 'postgresql://app@127.0.0.1:1/app?target_session_attrs=read-write'

const installedVersion = (() => {
  const pgEntry = createRequire(import.meta.url).resolve('pg')
  const entry = createRequire(pgEntry).resolve('pg-pool')
  return (JSON.parse(fs.readFileSync(path.join(path.dirname(entry), 'package.json'), 'utf8')) as { version: string }).version
})()

// pg.Pool is pg's subclass of pg-pool's Pool: members defined on its prototype shadow pg-pool's.
const proto = pg.Pool.prototype as object
afterEach(() => {
  Reflect.deleteProperty(proto, '_remove')
  Reflect.deleteProperty(proto, '_idle')
})
const withoutRemove = () => Object.defineProperty(proto, '_remove', { value: undefined, configurable: true, writable: true })
// pg-pool's constructor assigns `this._idle = []`: an accessor on the prototype swallows it.
const withoutIdle = () => Object.defineProperty(proto, '_idle', { get: () => undefined, set: () => {}, configurable: true })

const constructionError = (): unknown => {
  try {
    void createPool(DSN).end()
  } catch (error) {
    return error
  }
  return null
}

describe('pg-pool internals', () => {
  it('the installed pg-pool has them: a pool is built', async () => {
    const pool = createPool(DSN)
    expect(pool).toBeInstanceOf(HaPool)
    expect(pool).toBeInstanceOf(pg.Pool)
    expect(missingPgPoolInternals(pool)).toEqual([])
    await pool.end()
  })

  it('reads the installed pg-pool version', () => {
    expect(installedVersion).toMatch(/^\d+\.\d+\.\d+/)
    expect(pgPoolVersion()).toBe(installedVersion)
  })

  it('a pg-pool without _remove is refused at construction, naming it and the version', () => {
    withoutRemove()
    const error = constructionError()
    expect(error).toBeInstanceOf(PgPoolUnsupportedError)
    expect(error).toBeInstanceOf(DbHaError)
    expect(error).toMatchObject({ code: 'DB_HA_PG_POOL_UNSUPPORTED', missing: ['_remove'], pgPoolVersion: installedVersion })
    expect((error as Error).message).toContain(`pg-pool ${installedVersion} lacks _remove`)
    expect(DB_HA_ERROR_CODES.DB_HA_PG_POOL_UNSUPPORTED).toBe('DB_HA_PG_POOL_UNSUPPORTED')
  })

  it('a pg-pool without _idle, or without both, likewise', () => {
    withoutIdle()
    expect(constructionError()).toMatchObject({ code: 'DB_HA_PG_POOL_UNSUPPORTED', missing: ['_idle'] })
    withoutRemove()
    const error = constructionError()
    expect(error).toMatchObject({ code: 'DB_HA_PG_POOL_UNSUPPORTED', missing: ['_idle', '_remove'] })
    expect((error as Error).message).toContain('lacks _idle, _remove')
  })

  it('judges shapes: _idle an array, _remove a function', () => {
    expect(missingPgPoolInternals({ _idle: [], _remove: () => {} })).toEqual([])
    expect(missingPgPoolInternals({ _idle: new Set(), _remove: 'x' })).toEqual(['_idle', '_remove'])
    expect(missingPgPoolInternals({})).toEqual(['_idle', '_remove'])
  })

  it("the simulation is real: pg.Pool itself then lacks _remove (the check is HaPool's)", async () => {
    withoutRemove()
    const plain = new pg.Pool()
    expect(missingPgPoolInternals(plain)).toEqual(['_remove'])
    await plain.end()
  })
})
