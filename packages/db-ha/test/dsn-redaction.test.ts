import { describe, expect, it } from 'vitest'
import { DsnError, parseDsn, redactDsn, resolveSettings } from '../src/dsn/index.js'
import { DSN_VECTORS } from './dsn-vectors.js'

/** Everything of an error that could reach a log. */
function exposed(error: unknown): string {
  if (!(error instanceof DsnError)) throw error
  return [error.message, error.keyword ?? '', String(error), error.stack ?? '', JSON.stringify(error)].join('\n')
}

function errorOf(fn: () => unknown): DsnError {
  try {
    fn()
  } catch (error) {
    if (error instanceof DsnError) return error
    throw error
  }
  throw new Error('no error thrown')
}

// [DSN, secrets no error may show]. Where libpq itself would quote the secret is noted.
const INVALID_DSNS: [dsn: string, secrets: string[]][] = [
  ["password='Sup3r S3cret' bogus=1", ['Sup3r S3cret', 'Sup3r', 'S3cret']],
  ["password = 'it\\'s Sup3rS3cret' host", ["it's Sup3rS3cret", 'Sup3rS3cret']],
  ["host=h password='Sup3rS3cret", ['Sup3rS3cret']],
  // Unquoted, so libpq reads "Sup3r" as the password and fails at (and quotes) "S3cretTail".
  ['password=Sup3r S3cretTail host=h', ['S3cretTail']],
  ['password=Sup3r S3cretTail=x', ['S3cretTail']],
  ["sslpassword='Sup3r' S3cretTail", ['Sup3r', 'S3cretTail']],
  // A blank before the scheme makes it keyword/value: libpq quotes the whole URI.
  [' postgresql://u:Sup3rS3cret@h/db', ['Sup3rS3cret']],
  ['user=u x:Sup3rS3cret@h=1', ['Sup3rS3cret']],
  // libpq quotes the whole URI in these.
  ['postgresql://u:Sup3rS3cret@[::1', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@[]/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@[::1]x/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3r%zzS3cret@h/db', ['Sup3r%zzS3cret', 'S3cret']],
  ['postgresql://u:Sup3rS3cret%@h/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret%00@h/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h/d%zzb', ['Sup3rS3cret']],
  ['postgresql://u:%FFSup3rS3cret@h/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h/db?bogus=1', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h/db?x', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h/db?a=b=c', ['Sup3rS3cret']],
  ['postgresql://h/db?password=Sup3rS3cret&bogus=1', ['Sup3rS3cret']],
  // An unencoded "&" splits the password; libpq quotes the tail.
  ['postgresql://h/db?password=Sup3r&S3cretTail', ['S3cretTail']],
  ['postgresql://h/db?password=Sup3r&S3cretTail=1', ['S3cretTail']],
  ['postgresql://h/db?password=Sup3r%zzS3cret', ['Sup3r%zzS3cret']],
  ['postgresql://h/db?password=Sup3rS3cret\0', ['Sup3rS3cret']],
]

// Parse fine, fail in resolveSettings.
const INVALID_SETTINGS: [dsn: string, secrets: string[]][] = [
  ["password='Sup3r S3cret' port=99999", ['Sup3r S3cret']],
  ['password=Sup3rS3cret host=a,b,c port=1,2', ['Sup3rS3cret']],
  ['password=Sup3rS3cret host=a,b hostaddr=10.0.0.1', ['Sup3rS3cret']],
  ["password='Sup3r S3cret' target_session_attrs=bogus", ['Sup3r S3cret']],
  ['postgresql://u:Sup3rS3cret@h:99999/db', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h1,h2/db?port=1,2,3', ['Sup3rS3cret']],
  ['postgresql://u:Sup3rS3cret@h/db?connect_timeout=abc', ['Sup3rS3cret']],
  ['postgresql://u@h/db?password=Sup3rS3cret&sslmode=bogus', ['Sup3rS3cret']],
]

describe('errors never show a password', () => {
  it.each(INVALID_DSNS)('parseDsn and resolveSettings on %j', (dsn, secrets) => {
    for (const error of [errorOf(() => parseDsn(dsn)), errorOf(() => resolveSettings({ dsn, env: {} }))]) {
      const text = exposed(error)
      for (const secret of secrets) expect(text).not.toContain(secret)
    }
  })

  it.each(INVALID_SETTINGS)('resolveSettings on %j', (dsn, secrets) => {
    expect(() => parseDsn(dsn)).not.toThrow()
    const text = exposed(errorOf(() => resolveSettings({ dsn, env: {} })))
    for (const secret of secrets) expect(text).not.toContain(secret)
  })

  it('nor a password from PGPASSWORD or an explicit option', () => {
    const text = exposed(
      errorOf(() => resolveSettings({ dsn: 'port=0', env: { PGPASSWORD: 'Sup3rS3cret' }, options: { password: 'Opt10nS3cret' } })),
    )
    expect(text).not.toContain('Sup3rS3cret')
    expect(text).not.toContain('Opt10nS3cret')
  })

  it('still names tokens that cannot be part of a password', () => {
    expect(errorOf(() => parseDsn('password=x hots=h'))).toMatchObject({ keyword: undefined })
    expect(errorOf(() => parseDsn('host=h hots=h password=x'))).toMatchObject({
      message: 'invalid connection option "hots"',
      keyword: 'hots',
    })
    expect(errorOf(() => parseDsn('postgresql://u:p@h/db?hots=h'))).toMatchObject({
      message: 'invalid URI query parameter: "hots"',
      keyword: 'hots',
    })
  })
})

describe('redactDsn', () => {
  it.each([
    // keyword/value
    ['host=h password=Sup3rS3cret port=1', 'host=h password=*** port=1'],
    ["password = 'my Sup3r S3cret' user=u", 'password = *** user=u'],
    ["password='it\\'s Sup3rS3cret'", 'password=***'],
    ['password=a\\ Sup3rS3cret host=h', 'password=*** host=h'],
    ["password=''", 'password=***'],
    ['host=h\npassword=Sup3rS3cret\tport=1', 'host=h\npassword=***\tport=1'],
    ['password=a password=Sup3rS3cret', 'password=*** password=***'],
    ['sslpassword=Sup3rS3cret sslmode=require', 'sslpassword=*** sslmode=require'],
    // An empty unquoted value takes the next token: libpq's password here is "host=h".
    ['password= host=h', 'password= ***'],
    // What libpq would reject, masked as meant.
    ["host=h password='Sup3rS3cret", 'host=h password=***'],
    ['password=my Sup3r S3cret host=h', 'password=*** *** *** host=h'],
    ['password=Sup3r S3cret=1 port=5', 'password=*** *** port=5'],
    ['password Sup3rS3cret host=h', 'password *** host=h'],
    [' postgresql://u:Sup3rS3cret@h/db', ' postgresql://u:***@h/db'],
    // Not a password to libpq: left alone.
    ["options='-c password=x' user=u", "options='-c password=x' user=u"],
    ['host=h user=u', 'host=h user=u'],
    // URI
    ['postgresql://u:Sup3rS3cret@h/db', 'postgresql://u:***@h/db'],
    ['postgres://u:Sup3rS3cret@h1:5432,h2:5433/db?sslmode=require', 'postgres://u:***@h1:5432,h2:5433/db?sslmode=require'],
    ['postgresql://:Sup3rS3cret@h', 'postgresql://:***@h'],
    ['postgresql://u:Sup3r%40S3cret@h/db', 'postgresql://u:***@h/db'],
    ['postgresql://u:Sup3r?S3cret@h/db', 'postgresql://u:***@h/db'],
    ['postgresql://u:Sup3r:S3cret@h/db', 'postgresql://u:***@h/db'],
    ['postgresql://u:Sup3r@S3cret@h/db', 'postgresql://u:***@h/db'],
    ['postgresql://u:Sup3rS3cret@[::1', 'postgresql://u:***@[::1'],
    ['postgresql://u:Sup3rS3cret@h?application_name=a@b', 'postgresql://u:***@h?application_name=a@b'],
    ['postgresql://u@h/db?password=Sup3rS3cret&sslmode=require', 'postgresql://u@h/db?password=***&sslmode=require'],
    ['postgresql://h/db?sslmode=require&pass%77ord=Sup3rS3cret', 'postgresql://h/db?sslmode=require&pass%77ord=***'],
    ['postgresql://h/db?sslpassword=Sup3rS3cret', 'postgresql://h/db?sslpassword=***'],
    ['postgresql://h/db?password=Sup3r&S3cret&user=u', 'postgresql://h/db?password=***&***&user=u'],
    ['postgresql://u:a@h/db?password=Sup3rS3cret', 'postgresql://u:***@h/db?password=***'],
    ['postgresql://u@h/db?application_name=a@b', 'postgresql://u@h/db?application_name=a@b'],
  ])('%j becomes %j', (dsn, redacted) => {
    expect(redactDsn(dsn)).toBe(redacted)
  })

  it('masks every password of the conformance vectors, leaving a DSN that parses to "***"', () => {
    let checked = 0
    for (const { dsn } of DSN_VECTORS) {
      let values: Record<string, string>
      try {
        values = parseDsn(dsn)
      } catch {
        continue
      }
      const secrets = ['password', 'sslpassword'].filter((k) => values[k] !== undefined)
      if (secrets.length === 0) continue
      const redacted = parseDsn(redactDsn(dsn))
      for (const keyword of secrets) expect(redacted[keyword], dsn).toBe('***')
      checked++
    }
    expect(checked).toBeGreaterThan(15)
  })
})
