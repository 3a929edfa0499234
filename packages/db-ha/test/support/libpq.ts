// Runs the installed libpq's own parser (PQconninfoParse, through libpq-conninfo.c) on DSNs, so tests
// compare parseDsn with libpq itself rather than with our reading of its source.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type LibpqResult =
  /** `nonUtf8`: keywords whose value libpq returned as bytes that are not UTF-8 (their `values` entry is lossy). */
  { ok: true; values: Record<string, string>; nonUtf8: string[] } | { ok: false; error: string }

export interface LibpqKeywords {
  /** PQlibVersion(), e.g. 150018 for 15.18. */
  version: number
  keywords: string[]
}

const SOURCE = fileURLToPath(new URL('./libpq-conninfo.c', import.meta.url))
const NEEDS = "the libpq conformance tests need gcc and libpq's headers (Debian: apt-get install gcc libpq-dev)"
const utf8 = new TextDecoder('utf-8', { fatal: true })

let built: string | undefined

/** The helper's path, compiled on first use into a cache outside the work tree, keyed by its source. */
export function libpqHelper(): string {
  if (built) return built
  const source = readFileSync(SOURCE)
  const include = pgIncludeDir()
  const flags = ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-O1', '-Wall', '-Wextra', `-I${include}`]
  const key = createHash('sha256').update(source).update(flags.join('\0')).digest('hex').slice(0, 16)
  const dir = join(tmpdir(), 'db-ha-libpq-conninfo')
  const binary = join(dir, `libpq-conninfo-${key}`)
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true })
    // Workers may build at once: each into its own file, then an atomic rename.
    const partial = `${binary}.${process.pid}.tmp`
    try {
      execFileSync('gcc', [...flags, '-o', partial, SOURCE, '-lpq'], { stdio: ['ignore', 'pipe', 'pipe'] })
    } catch (error) {
      rmSync(partial, { force: true })
      throw new Error(`could not build ${SOURCE}: ${NEEDS}.\n${describe(error)}`, { cause: error })
    }
    renameSync(partial, binary)
  }
  built = binary
  return binary
}

function pgIncludeDir(): string {
  try {
    return execFileSync('pg_config', ['--includedir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    // Debian's libpq-dev puts libpq-fe.h here even without the pg_config of postgresql-server-dev.
    return '/usr/include/postgresql'
  }
}

function run(args: string[], input: string): string {
  // C locale, no PG* variables: libpq's messages in English and its parsing as a plain client's. The
  // helper writes ASCII only; the DSNs go in as UTF-8.
  const helper = libpqHelper()
  try {
    return execFileSync(helper, args, {
      input: Buffer.from(input, 'utf8'),
      encoding: 'latin1',
      env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' },
      maxBuffer: 64 << 20,
    })
  } catch (error) {
    throw new Error(`libpq-conninfo failed (${NEEDS}): ${describe(error)}`, { cause: error })
  }
}

/** PQconninfoParse's verdict on each DSN, in order. */
export function libpqParse(dsns: readonly string[]): LibpqResult[] {
  for (const dsn of dsns) if (dsn.includes('\0')) throw new Error(`a DSN with NUL cannot reach libpq: ${JSON.stringify(dsn)}`)
  if (dsns.length === 0) return []
  const lines = run([], dsns.map((dsn) => JSON.stringify(dsn)).join('\n') + '\n')
    .trimEnd()
    .split('\n')
  if (lines.length !== dsns.length) throw new Error(`libpq-conninfo answered ${lines.length} lines for ${dsns.length} DSNs`)
  return lines.map((line) => {
    const raw = JSON.parse(line) as { ok: true; values: Record<string, string> } | { ok: false; error: string }
    if (!raw.ok) return { ok: false, error: utf8Lossy(raw.error) }
    const values: Record<string, string> = {}
    const nonUtf8: string[] = []
    for (const [keyword, latin1] of Object.entries(raw.values)) {
      const bytes = Buffer.from(latin1, 'latin1')
      try {
        values[keyword] = utf8.decode(bytes)
      } catch {
        values[keyword] = bytes.toString('utf8')
        nonUtf8.push(keyword)
      }
    }
    return { ok: true, values, nonUtf8 }
  })
}

/** The installed libpq's version and every connection keyword it knows. */
export function libpqKeywords(): LibpqKeywords {
  return JSON.parse(run(['--keywords'], '')) as LibpqKeywords
}

function utf8Lossy(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8')
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: unknown }).stderr
    const text = typeof stderr === 'string' ? stderr : Buffer.isBuffer(stderr) ? stderr.toString('utf8') : ''
    return `${error.message}${text && !error.message.includes(text.trim()) ? `\n${text}` : ''}`
  }
  return String(error)
}
