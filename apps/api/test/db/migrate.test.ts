// applyMigrations against a real PostgreSQL 15: Prisma's bookkeeping, the lock, and the failure modes.
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { applyMigrations, MIGRATE_ADVISORY_LOCK_KEY, MigrationError, type MigrationLogger } from '../../src/db/migrate.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))
const INIT = '20261125025413_init'

let server: LocalPostgres
const cleanups: (() => Promise<unknown>)[] = []
let databases = 0

beforeAll(async () => {
  server = await startLocalPostgres()
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(async () => {
  await server?.stop()
})

async function freshPool(): Promise<pg.Pool> {
  const url = await server.createDatabase(`migrate_${++databases}`)
  const pool = new pg.Pool({ connectionString: url, max: 3 })
  cleanups.push(() => pool.end())
  return pool
}

/** A copy of the real migrations directory that a test may add to or edit. */
async function migrationsCopy(extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pg-ha-api-migrations-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  await cp(MIGRATIONS_DIR, dir, { recursive: true })
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name))
    await writeFile(join(dir, name, 'migration.sql'), sql)
  }
  return dir
}

function recordingLogger(): MigrationLogger & { lines: string[] } {
  const lines: string[] = []
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) }
}

async function migrationRows(pool: pg.Pool) {
  const { rows } = await pool.query(`SELECT * FROM _prisma_migrations ORDER BY started_at`)
  return rows as {
    id: string
    checksum: string
    finished_at: Date | null
    migration_name: string
    logs: string | null
    rolled_back_at: Date | null
    started_at: Date
    applied_steps_count: number
  }[]
}

async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  const { rows } = await pool.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [name])
  return rows[0].present as boolean
}

async function rejection(promise: Promise<unknown>): Promise<MigrationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MigrationError)
  return err as MigrationError
}

describe('applyMigrations', () => {
  it('applies the init migration to a fresh database and records it as prisma migrate deploy does', async () => {
    const pool = await freshPool()
    const log = recordingLogger()

    const result = await applyMigrations(pool, MIGRATIONS_DIR, log)

    expect(result).toEqual({ applied: [INIT], alreadyApplied: [] })
    expect(log.lines).toEqual([expect.stringMatching(new RegExp(`^info: Applied migration \`${INIT}\` in \\d+ ms\\.$`))])

    // The bookkeeping row: checksum is sha256 hex of the file's bytes.
    const fileBytes = await readFile(join(MIGRATIONS_DIR, INIT, 'migration.sql'))
    const [row, ...others] = await migrationRows(pool)
    expect(others).toEqual([])
    expect(row).toMatchObject({
      migration_name: INIT,
      checksum: createHash('sha256').update(fileBytes).digest('hex'),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    })
    expect(row?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(row?.finished_at).toBeInstanceOf(Date)
    expect(row!.finished_at!.getTime()).toBeGreaterThanOrEqual(row!.started_at.getTime())

    // The table Prisma's schema engine would create, column for column.
    const { rows: bookkeeping } = await pool.query(`
      SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
        FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`)
    expect(bookkeeping).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', len: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ])

    // The orders table as schema.prisma describes it.
    const { rows: columns } = await pool.query(`
      SELECT column_name, data_type, character_maximum_length AS len, datetime_precision AS precision, is_nullable, column_default
        FROM information_schema.columns WHERE table_name = 'orders' ORDER BY ordinal_position`)
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'bigint',
        len: null,
        precision: null,
        is_nullable: 'NO',
        column_default: "nextval('orders_id_seq'::regclass)",
      },
      {
        column_name: 'idempotency_key',
        data_type: 'character varying',
        len: 200,
        precision: null,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'request_hash', data_type: 'character', len: 64, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'request_id', data_type: 'uuid', len: null, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'customer_id', data_type: 'character varying', len: 64, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'currency', data_type: 'character', len: 3, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'items', data_type: 'jsonb', len: null, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'total_cents', data_type: 'bigint', len: null, precision: null, is_nullable: 'NO', column_default: null },
      { column_name: 'note', data_type: 'character varying', len: 500, precision: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        len: null,
        precision: 6,
        is_nullable: 'NO',
        column_default: 'CURRENT_TIMESTAMP',
      },
    ])
    const { rows: indexes } = await pool.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders' ORDER BY indexname`)
    expect(indexes).toEqual([
      {
        indexname: 'orders_idempotency_key_key',
        indexdef: 'CREATE UNIQUE INDEX orders_idempotency_key_key ON public.orders USING btree (idempotency_key)',
      },
      { indexname: 'orders_pkey', indexdef: 'CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)' },
    ])
  })

  it('applies nothing on a second run, and says so', async () => {
    const pool = await freshPool()
    await applyMigrations(pool, MIGRATIONS_DIR)
    const log = recordingLogger()

    const result = await applyMigrations(pool, MIGRATIONS_DIR, log)

    expect(result).toEqual({ applied: [], alreadyApplied: [INIT] })
    expect(log.lines).toEqual(['info: No pending migrations: all 1 already applied.'])
    expect(await migrationRows(pool)).toHaveLength(1)
  })

  it('applies each migration exactly once when two instances start at the same time', async () => {
    const url = await server.createDatabase(`migrate_${++databases}`)
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })]
    cleanups.push(() => Promise.all(pools.map((p) => p.end())))
    // A slow second migration keeps the first instance inside the lock while the other one waits.
    const dir = await migrationsCopy({
      '20990101000000_slow': 'SELECT pg_sleep(0.5);\nCREATE TABLE "slow_marker" ("id" INTEGER NOT NULL);\n',
    })

    const results = await Promise.all(pools.map((pool) => applyMigrations(pool, dir)))

    const applied = results.flatMap((r) => r.applied).sort()
    expect(applied).toEqual([INIT, '20990101000000_slow'])
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 2])
    const rows = await migrationRows(pools[0]!)
    expect(rows.map((r) => r.migration_name)).toEqual([INIT, '20990101000000_slow'])
  })

  it('waits for the advisory lock Prisma uses, and gives up after lockTimeoutMs', async () => {
    const pool = await freshPool()
    const holder = await pool.connect()
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATE_ADVISORY_LOCK_KEY])
    try {
      const err = await rejection(applyMigrations(pool, MIGRATIONS_DIR, undefined, { lockTimeoutMs: 300 }))
      expect(err.code).toBe('LOCK_TIMEOUT')
      expect(await tableExists(pool, 'orders')).toBe(false)
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATE_ADVISORY_LOCK_KEY])
      holder.release()
    }
    expect((await applyMigrations(pool, MIGRATIONS_DIR)).applied).toEqual([INIT])
    // The lock is not left behind on any session.
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`, [
      MIGRATE_ADVISORY_LOCK_KEY,
    ])
    expect(rows[0].n).toBe(0)
  })

  it('refuses a migration whose file changed after it was applied, naming it', async () => {
    const pool = await freshPool()
    const dir = await migrationsCopy()
    await applyMigrations(pool, dir)
    const file = join(dir, INIT, 'migration.sql')
    const original = await readFile(file, 'utf8')

    // Converting line endings is not a change, as in Prisma (git may do it).
    await writeFile(file, original.replaceAll('\n', '\r\n'))
    expect((await applyMigrations(pool, dir)).applied).toEqual([])

    await writeFile(file, `${original}\n-- an afterthought\n`)
    const err = await rejection(applyMigrations(pool, dir))
    expect(err.code).toBe('MIGRATION_MODIFIED')
    expect(err.migrationName).toBe(INIT)
    expect(err.message).toContain(`the migration \`${INIT}\` was modified after it was applied`)
  })

  it('rolls a failing migration back, records nothing, and names the migration and the SQL error', async () => {
    const pool = await freshPool()
    const broken = '20990101000000_broken'
    const dir = await migrationsCopy({
      [broken]: 'CREATE TABLE "half_done" ("id" INTEGER NOT NULL);\n\nINSERT INTO "no_such_table" VALUES (1);\n',
    })

    const err = await rejection(applyMigrations(pool, dir))

    expect(err.code).toBe('MIGRATION_FAILED')
    expect(err.migrationName).toBe(broken)
    expect(err.databaseErrorCode).toBe('42P01')
    expect(err.message).toContain(`migration \`${broken}\` failed and was rolled back`)
    expect(err.message).toContain('relation "no_such_table" does not exist')
    expect(err.message).toContain('at line 3: INSERT INTO "no_such_table" VALUES (1);')
    expect(err.message).not.toContain(server.password)
    // The earlier migration stays applied; the broken one left nothing behind.
    expect(await tableExists(pool, 'orders')).toBe(true)
    expect(await tableExists(pool, 'half_done')).toBe(false)
    expect((await migrationRows(pool)).map((r) => r.migration_name)).toEqual([INIT])

    // Fixing the file is enough: no failed record to resolve first.
    await writeFile(join(dir, broken, 'migration.sql'), 'CREATE TABLE "half_done" ("id" INTEGER NOT NULL);\n')
    expect(await applyMigrations(pool, dir)).toEqual({ applied: [broken], alreadyApplied: [INIT] })
  })

  it('warns about applied migrations that are missing from the directory', async () => {
    const pool = await freshPool()
    await applyMigrations(pool, MIGRATIONS_DIR)
    const dir = await migrationsCopy()
    await rm(join(dir, INIT), { recursive: true })
    const log = recordingLogger()

    expect(await applyMigrations(pool, dir, log)).toEqual({ applied: [], alreadyApplied: [] })
    expect(log.lines).toContain(`warn: Applied to the database but missing from the migrations directory: ${INIT}`)
  })

  it('refuses a non-empty schema that has no migrations table, as Prisma does (P3005)', async () => {
    const pool = await freshPool()
    await pool.query('CREATE TABLE "legacy" ("id" INTEGER)')

    const err = await rejection(applyMigrations(pool, MIGRATIONS_DIR))

    expect(err.code).toBe('DATABASE_NOT_EMPTY')
    expect(err.message).toContain('legacy')
    expect(await tableExists(pool, '_prisma_migrations')).toBe(false)
  })

  it('refuses to run past a failed migration that Prisma recorded (P3009)', async () => {
    const pool = await freshPool()
    await applyMigrations(pool, MIGRATIONS_DIR)
    await pool.query(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES ('00000000-0000-4000-8000-000000000000', 'x', '20990101000000_failed', 'boom')`,
    )

    const err = await rejection(applyMigrations(pool, MIGRATIONS_DIR))

    expect(err.code).toBe('FAILED_MIGRATION_FOUND')
    expect(err.migrationName).toBe('20990101000000_failed')
  })
})
