// Applies prisma/migrations/*/migration.sql the way `prisma migrate deploy` does, without Prisma's
// native schema engine (which cannot be downloaded everywhere). The bookkeeping is Prisma's own, so
// `prisma migrate status` / `deploy` agree with this runner wherever the real engine is available.
// Read from prisma-engines: schema-engine/core/src/commands/apply_migrations.rs,
// schema-engine/connectors/sql-schema-connector/src/{flavour/postgres.rs,sql_migration_persistence.rs},
// schema-engine/connectors/schema-connector/src/checksum.rs.
import { createHash, randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type pg from 'pg'

/** Prisma Migrate's advisory lock key, so this runner and `prisma migrate deploy` also exclude each other. */
export const MIGRATE_ADVISORY_LOCK_KEY = 72707369

const MIGRATIONS_TABLE = '_prisma_migrations'
const MIGRATION_SCRIPT = 'migration.sql'
const LOCK_FILE = 'migration_lock.toml'
// The DDL Prisma's postgres connector runs (flavour/postgres.rs, create_migrations_table).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE ${MIGRATIONS_TABLE} (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`
// PostGIS tables Prisma does not count when deciding whether a schema is empty.
const IGNORED_TABLES = /^(spatial_ref_sys|geometry_columns)$/i

export interface MigrationLogger {
  info(message: string): void
  warn(message: string): void
}

export interface ApplyMigrationsOptions {
  /** How long to wait for another instance that is migrating (default 60 s). */
  lockTimeoutMs?: number
}

export interface ApplyMigrationsResult {
  /** Migrations this call applied, in order. */
  applied: string[]
  /** Migrations found already applied. */
  alreadyApplied: string[]
}

export type MigrationErrorCode =
  | 'MIGRATIONS_DIR_UNREADABLE'
  | 'MIGRATION_SCRIPT_UNREADABLE'
  | 'PROVIDER_MISMATCH'
  | 'LOCK_TIMEOUT'
  | 'DATABASE_NOT_EMPTY'
  | 'FAILED_MIGRATION_FOUND'
  | 'MIGRATION_MODIFIED'
  | 'MIGRATION_FAILED'

/** Names the migration concerned; never carries connection details. */
export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly migrationName?: string,
    /** The SQLSTATE of the statement that failed, for MIGRATION_FAILED. */
    readonly databaseErrorCode?: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'MigrationError'
  }
}

interface MigrationDirectory {
  name: string
  script: string
}

interface MigrationRow {
  id: string
  checksum: string
  finished_at: Date | null
  migration_name: string
  rolled_back_at: Date | null
  started_at: Date
}

/** Prisma's checksum: sha256 of the migration script (UTF-8), as lowercase hex. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex')
}

/**
 * Prisma's script_matches_checksum: a script also matches with its line endings converted either way
 * (git may rewrite them), and against the unpadded hex old schema engines wrote
 * (prisma-engines#1887).
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')]
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest()
    const rendered =
      checksum.length !== 0 && checksum.length !== 64 ? Array.from(digest, (byte) => byte.toString(16)).join('') : digest.toString('hex')
    return rendered === checksum
  })
}

/** Every subdirectory is a migration, read and ordered as the Prisma 7 CLI does (localeCompare). */
export async function readMigrations(migrationsDir: string): Promise<MigrationDirectory[]> {
  let entries
  try {
    entries = await readdir(migrationsDir, { withFileTypes: true })
  } catch (err) {
    throw new MigrationError(
      'MIGRATIONS_DIR_UNREADABLE',
      `cannot read the migrations directory ${migrationsDir}: ${messageOf(err)}`,
      undefined,
      undefined,
      err,
    )
  }
  const lockFile = await readFile(join(migrationsDir, LOCK_FILE), 'utf8').catch(() => undefined)
  if (lockFile !== undefined) checkProvider(lockFile)

  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b))
  return Promise.all(
    names.map(async (name) => {
      const path = join(migrationsDir, name, MIGRATION_SCRIPT)
      try {
        return { name, script: await readFile(path, 'utf8') }
      } catch (err) {
        throw new MigrationError(
          'MIGRATION_SCRIPT_UNREADABLE',
          `migration \`${name}\`: cannot read ${path}: ${messageOf(err)}`,
          name,
          undefined,
          err,
        )
      }
    }),
  )
}

// As Prisma's read_provider_from_lock_file: the first line starting with "provider".
function checkProvider(lockFile: string): void {
  const line = lockFile.split('\n').find((l) => l.startsWith('provider'))
  const provider =
    line === undefined
      ? '<PROVIDER NOT FOUND>'
      : line
          .replace(/^(provider = )+/, '')
          .trim()
          .replace(/^"+|"+$/g, '')
  if (provider !== 'postgresql') {
    throw new MigrationError(
      'PROVIDER_MISMATCH',
      `${LOCK_FILE} is for provider "${provider}", this runner applies only postgresql migrations`,
    )
  }
}

/**
 * Applies the pending migrations of `migrationsDir` in name order, each in its own transaction,
 * while holding Prisma Migrate's advisory lock: of several instances starting at once, one applies
 * and the others wait, then find nothing left to do. A migration that fails is rolled back and not
 * recorded, so fixing its file and running again is enough (Prisma would leave a failed record
 * that needs `prisma migrate resolve`).
 */
export async function applyMigrations(
  pool: pg.Pool,
  migrationsDir: string,
  log: MigrationLogger = silentLogger,
  options: ApplyMigrationsOptions = {},
): Promise<ApplyMigrationsResult> {
  const migrations = await readMigrations(migrationsDir)
  const client = await pool.connect()
  try {
    await lock(client, options.lockTimeoutMs ?? 60_000)
    const rows = await loadMigrationsTable(client)
    const pending = checkHistory(migrations, rows, log)
    const alreadyApplied = migrations.filter((m) => !pending.includes(m)).map((m) => m.name)
    if (pending.length === 0) {
      log.info(`No pending migrations: all ${migrations.length} already applied.`)
      return { applied: [], alreadyApplied }
    }
    const applied: string[] = []
    for (const migration of pending) {
      const started = performance.now()
      await applyOne(client, migration)
      applied.push(migration.name)
      log.info(`Applied migration \`${migration.name}\` in ${Math.round(performance.now() - started)} ms.`)
    }
    return { applied, alreadyApplied }
  } finally {
    await unlockAndDiscard(client)
  }
}

async function lock(client: pg.PoolClient, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for advisory locks too; RESET restores the session's default.
  await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${Math.max(1, Math.round(timeoutMs))}ms`])
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_ADVISORY_LOCK_KEY])
  } catch (err) {
    if (sqlState(err) === '55P03') {
      throw new MigrationError(
        'LOCK_TIMEOUT',
        `timed out after ${timeoutMs} ms waiting for the migration lock (pg_advisory_lock(${MIGRATE_ADVISORY_LOCK_KEY})): another instance is still migrating`,
        undefined,
        undefined,
        err,
      )
    }
    throw err
  }
  await client.query('RESET lock_timeout')
}

// The connection is then dropped, not pooled: a migration's session-level SET must not leak into
// the application's queries. Unlocking first frees the lock at once, even if ending is slow.
async function unlockAndDiscard(client: pg.PoolClient): Promise<void> {
  try {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_ADVISORY_LOCK_KEY])
  } catch {
    // Ending the connection frees the lock anyway.
  } finally {
    client.release(true)
  }
}

// Prisma's initialize(): create the table in an empty schema, refuse a non-empty one without it.
async function loadMigrationsTable(client: pg.PoolClient): Promise<MigrationRow[]> {
  const { rows: tables } = await client.query<{ table_name: string }>(
    `SELECT tbl.relname AS table_name
       FROM pg_class AS tbl
       JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace
      WHERE tbl.relkind = 'r' AND namespace.nspname = current_schema()`,
  )
  const names = tables.map((t) => t.table_name)
  if (!names.includes(MIGRATIONS_TABLE)) {
    const others = names.filter((name) => !IGNORED_TABLES.test(name))
    if (others.length > 0) {
      throw new MigrationError(
        'DATABASE_NOT_EMPTY',
        `the database schema is not empty (tables: ${others.sort().join(', ')}) and has no ${MIGRATIONS_TABLE} table; ` +
          'baseline it first (Prisma error P3005, https://pris.ly/d/migrate-baseline)',
      )
    }
    await client.query(CREATE_MIGRATIONS_TABLE)
    return []
  }
  const { rows } = await client.query<MigrationRow>(
    `SELECT id, checksum, finished_at, migration_name, rolled_back_at, started_at FROM ${MIGRATIONS_TABLE} ORDER BY started_at ASC`,
  )
  return rows
}

/** The migrations still to apply, after the checks `migrate deploy` and `migrate status` make. */
function checkHistory(migrations: MigrationDirectory[], rows: MigrationRow[], log: MigrationLogger): MigrationDirectory[] {
  const failed = rows.find((row) => row.finished_at === null && row.rolled_back_at === null)
  if (failed) {
    throw new MigrationError(
      'FAILED_MIGRATION_FOUND',
      `the \`${failed.migration_name}\` migration started at ${failed.started_at.toISOString()} failed; ` +
        'resolve it with `prisma migrate resolve` before applying new migrations (Prisma error P3009)',
      failed.migration_name,
    )
  }
  const live = rows.filter((row) => row.rolled_back_at === null)
  const pending: MigrationDirectory[] = []
  for (const migration of migrations) {
    const records = live.filter((row) => row.migration_name === migration.name)
    if (records.length === 0) {
      pending.push(migration)
    } else if (!records.some((row) => scriptMatchesChecksum(migration.script, row.checksum))) {
      throw new MigrationError(
        'MIGRATION_MODIFIED',
        `the migration \`${migration.name}\` was modified after it was applied ` +
          `(recorded checksum ${records[0]?.checksum}, file now ${migrationChecksum(migration.script)})`,
        migration.name,
      )
    }
  }
  const onDisk = new Set(migrations.map((m) => m.name))
  const missing = [...new Set(live.map((row) => row.migration_name))].filter((name) => !onDisk.has(name))
  if (missing.length > 0) log.warn(`Applied to the database but missing from the migrations directory: ${missing.join(', ')}`)
  return pending
}

// Prisma records the start, runs the script as one simple-protocol batch, then counts the step and
// sets finished_at; here all of it is one transaction, so a failure leaves no trace.
async function applyOne(client: pg.PoolClient, migration: MigrationDirectory): Promise<void> {
  const id = randomUUID()
  await client.query('BEGIN')
  try {
    await client.query(
      `INSERT INTO ${MIGRATIONS_TABLE} (id, checksum, started_at, migration_name) VALUES ($1, $2, clock_timestamp(), $3)`,
      [id, migrationChecksum(migration.script), migration.name],
    )
    try {
      // No parameters: pg sends it with the simple query protocol, which runs several statements.
      await client.query(migration.script)
    } catch (err) {
      throw new MigrationError(
        'MIGRATION_FAILED',
        `migration \`${migration.name}\` failed and was rolled back: ${describeSqlError(err, migration.script)}`,
        migration.name,
        sqlState(err),
        err,
      )
    }
    await client.query(
      `UPDATE ${MIGRATIONS_TABLE} SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp() WHERE id = $1`,
      [id],
    )
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}

function describeSqlError(err: unknown, script: string): string {
  const code = sqlState(err)
  let text = `${messageOf(err)}${code ? ` (SQLSTATE ${code})` : ''}`
  const position = Number((err as { position?: string }).position)
  if (Number.isInteger(position) && position > 0) {
    // position counts characters from 1 in the whole script.
    const line = script.slice(0, position - 1).split('\n').length
    text += ` at line ${line}: ${script.split('\n')[line - 1]?.trim() ?? ''}`
  }
  return text
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

const silentLogger: MigrationLogger = { info: () => undefined, warn: () => undefined }
