// `npm run db:migrate` end to end: output, exit codes, and that the password never shows.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

const apiDir = fileURLToPath(new URL('../..', import.meta.url))
const INIT = '20261125025413_init'

let server: LocalPostgres

beforeAll(async () => {
  server = await startLocalPostgres()
})

afterAll(async () => {
  await server?.stop()
})

interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

function migrateCli(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/db/migrate-cli.ts'],
      {
        cwd: apiDir,
        env: { PATH: process.env.PATH ?? '', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    )
  })
}

describe('db:migrate', () => {
  it('applies, then finds nothing to do, one line per migration and a summary', async () => {
    const url = await server.createDatabase('cli_ok')
    // A multi-host DSN: the first host is down, db-ha finds the server on the second.
    const dsn = url.replace('@127.0.0.1:', '@127.0.0.1:1,127.0.0.1:')

    const first = await migrateCli({ DATABASE_URL: dsn })
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(`applied          ${INIT}`)
    expect(first.stdout).toContain('Done: 1 applied, 0 already applied.')

    const second = await migrateCli({ DATABASE_URL: dsn })
    expect(second.code).toBe(0)
    expect(second.stdout).toContain(`already applied  ${INIT}`)
    expect(second.stdout).toContain('Nothing to apply: 1 migration already applied.')

    for (const { stdout, stderr } of [first, second]) expect(stdout + stderr).not.toContain(server.password)
  })

  it('exits 2 when DATABASE_URL is missing', async () => {
    // An env file that does not exist, so a .env bring-up wrote here is not read either.
    const { code, stderr } = await migrateCli({ PGHA_ENV_FILE: '/nonexistent/pgha.env' })
    expect(code).toBe(2)
    expect(stderr).toContain('DATABASE_URL is not set')
  })

  it('exits 2 when DATABASE_URL is blank', async () => {
    // Set, so the repo-root .env (if any) is not read, but empty once trimmed.
    const { code, stderr } = await migrateCli({ DATABASE_URL: '  ' })
    expect(code).toBe(2)
    expect(stderr).toContain('DATABASE_URL is empty')
  })

  it('exits 2 on an invalid DATABASE_URL, without printing the password', async () => {
    const { code, stdout, stderr } = await migrateCli({ DATABASE_URL: 'postgresql://app:s3cret-pw@db1:5432,db2:99999/app' })
    expect(code).toBe(2)
    expect(stderr).toContain('DATABASE_URL is invalid: invalid port number')
    expect(stdout + stderr).not.toContain('s3cret-pw')
  })

  it('exits 1 when no server answers, without printing the password', async () => {
    const { code, stdout, stderr } = await migrateCli({ DATABASE_URL: 'postgresql://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=2' })
    expect(code).toBe(1)
    expect(stderr).toMatch(/^db:migrate: cannot migrate: /m)
    expect(stdout + stderr).not.toContain('s3cret-pw')
  })

  it('exits 1 when a wrong password is refused, without printing either password', async () => {
    const wrong = server.url('postgres').replace(encodeURIComponent(server.password), 'wr0ng-pw')
    const { code, stdout, stderr } = await migrateCli({ DATABASE_URL: wrong })
    expect(code).toBe(1)
    expect(stdout + stderr).not.toContain('wr0ng-pw')
    expect(stdout + stderr).not.toContain(server.password)
  })
})
