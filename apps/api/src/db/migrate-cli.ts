// `npm run db:migrate`: applies prisma/migrations to the primary named by DATABASE_URL (a libpq DSN,
// one host or several). Exit codes: 0 done, 1 a migration or the connection failed, 2 bad or
// missing DATABASE_URL. Nothing printed ever contains the password.
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createPool, DsnError, redactDsn, resolveSettings } from '@pg-ha/db-ha'
import { defaultEnvFile, loadEnvFileIfNeeded } from '../config/env-file.js'
import { applyMigrations, MigrationError } from './migrate.js'

// src/db and dist/db sit at the same depth, so this holds for `tsx` and for the built file.
const migrationsDir = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

function usageError(message: string): never {
  console.error(`db:migrate: ${message}`)
  process.exit(2)
}

async function main(): Promise<number> {
  loadEnvFileIfNeeded()
  const dsn = process.env.DATABASE_URL?.trim()
  if (!dsn) {
    usageError(
      process.env.DATABASE_URL === undefined
        ? `DATABASE_URL is not set (neither in the environment nor in ${process.env.PGHA_ENV_FILE || defaultEnvFile})`
        : 'DATABASE_URL is empty',
    )
  }

  let settings
  try {
    settings = resolveSettings({ dsn })
  } catch (err) {
    if (err instanceof DsnError) usageError(`DATABASE_URL is invalid: ${err.message}`)
    throw err
  }
  const secrets = [settings.password].filter((s): s is string => !!s)
  const redact = (text: string) => secrets.reduce((out, secret) => out.replaceAll(secret, '***'), text)

  // DDL needs the writable primary, whatever the DSN would otherwise accept.
  const pool = createPool({
    dsn,
    targetSessionAttrs: settings.targetSessionAttrs === 'primary' ? 'primary' : 'read-write',
    applicationName: settings.applicationName ?? 'pg-ha-api db:migrate',
    pool: { max: 1 },
  })
  const dirLabel = relative(process.cwd(), migrationsDir) || '.'
  console.log(`Applying ${dirLabel} to ${redactDsn(dsn)}`)
  try {
    const { applied, alreadyApplied } = await applyMigrations(pool, migrationsDir, {
      info: () => undefined, // the lines below say the same, one per migration
      warn: (message) => console.error(`warning: ${redact(message)}`),
    })
    for (const name of [...alreadyApplied, ...applied].sort((a, b) => a.localeCompare(b))) {
      console.log(`${applied.includes(name) ? 'applied        ' : 'already applied'}  ${name}`)
    }
    const total = applied.length + alreadyApplied.length
    console.log(
      applied.length === 0
        ? `Nothing to apply: ${total} migration${total === 1 ? '' : 's'} already applied.`
        : `Done: ${applied.length} applied, ${alreadyApplied.length} already applied.`,
    )
    return 0
  } catch (err) {
    const message = err instanceof MigrationError ? err.message : `cannot migrate: ${err instanceof Error ? err.message : String(err)}`
    console.error(`db:migrate: ${redact(message)}`)
    return 1
  } finally {
    await pool.end().catch(() => undefined)
  }
}

process.exitCode = await main()
