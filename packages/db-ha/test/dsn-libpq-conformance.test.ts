// parseDsn against the installed libpq's PQconninfoParse, vector by vector. Without gcc or libpq's
// headers every one of these tests fails, none skips: they are the proof of "libpq-compatible".
import { describe, expect, it } from 'vitest'
import { DSN_KEYWORDS, DsnError, parseDsn } from '../src/dsn/index.js'
import { DSN_VECTORS } from './dsn-vectors.js'
import { libpqKeywords, libpqParse, type LibpqKeywords, type LibpqResult } from './support/libpq.js'

type Outcome = { values: Record<string, string> } | { error: unknown }

function ours(dsn: string): Outcome {
  try {
    return { values: parseDsn(dsn) }
  } catch (error) {
    return { error }
  }
}

function ourError(outcome: Outcome): DsnError {
  if (!('error' in outcome)) throw new Error(`parseDsn accepted it: ${JSON.stringify(outcome.values)}`)
  if (!(outcome.error instanceof DsnError)) throw outcome.error
  return outcome.error
}

// libpq 15's parse errors, by the problem they name; `name` finds the token libpq quotes.
const ERROR_CLASSES: { id: string; match: RegExp; name?: RegExp }[] = [
  { id: 'missing "="', match: /^missing "=" after/, name: /^missing "=" after "(.*)" in connection info string$/s },
  { id: 'unterminated quote', match: /^unterminated quoted string/ },
  {
    id: 'invalid option',
    match: /^invalid connection option|^invalid URI query parameter/,
    name: /^invalid (?:connection option |URI query parameter: )"(.*)"$/s,
  },
  { id: 'bad percent-escape', match: /^invalid percent-encoded token/ },
  { id: '%00', match: /^forbidden value %00/ },
  { id: 'unterminated IPv6', match: /^end of string reached when looking for matching "\]"/ },
  { id: 'empty IPv6', match: /^IPv6 host address may not be empty/ },
  { id: 'junk after IPv6', match: /^unexpected character "(.)" at position (\d+) in URI/ },
  {
    id: 'query without "="',
    match: /^missing key\/value separator/,
    name: /^missing key\/value separator "=" in URI query parameter: "(.*)"$/s,
  },
  {
    id: 'query with two "="',
    match: /^extra key\/value separator/,
    name: /^extra key\/value separator "=" in URI query parameter: "(.*)"$/s,
  },
]

const classOf = (message: string) => ERROR_CLASSES.find((c) => c.match.test(message))

function expectSameFailure(dsn: string, libpqError: string, error: DsnError) {
  const theirs = classOf(libpqError)
  expect(theirs, `libpq's message is in no known class: ${libpqError}`).toBeDefined()
  if (!theirs) return
  expect(classOf(error.message)?.id, `ours: ${error.message}\nlibpq: ${libpqError}`).toBe(theirs.id)
  expect(error.code).toBe(theirs.id === 'invalid option' ? 'DSN_INVALID_OPTION' : 'DSN_SYNTAX')

  const named = theirs.name?.exec(libpqError)?.[1]
  if (named !== undefined) {
    // We name the same token, quoted, or (when it may be part of a password) by its offset.
    const offset = /the token at offset (\d+)/.exec(error.message)?.[1]
    if (offset === undefined) {
      expect(error.keyword).toBe(named)
      expect(error.message).toContain(`"${named}"`)
    } else {
      expect(error.keyword).toBeUndefined()
      expect(dsn.startsWith(named, Number(offset)), `offset ${offset} is not at "${named}"`).toBe(true)
    }
  }
  if (theirs.id === 'junk after IPv6') expect(theirs.match.exec(error.message)?.slice(1)).toEqual(theirs.match.exec(libpqError)?.slice(1))
}

// Asked once; a failure is kept and thrown in each test (from beforeAll, vitest would report them skipped).
let answers: { installed: LibpqKeywords; libpq: LibpqResult[] } | { error: unknown } | undefined
function libpqAnswers() {
  try {
    answers ??= { installed: libpqKeywords(), libpq: libpqParse(DSN_VECTORS.map((vector) => vector.dsn)) }
  } catch (error) {
    answers = { error }
  }
  if ('error' in answers) throw answers.error
  return answers
}

describe('parseDsn agrees with libpq', () => {
  it('has a broad, duplicate-free table of vectors', () => {
    const { libpq } = libpqAnswers()
    expect(DSN_VECTORS.length).toBeGreaterThanOrEqual(100)
    expect(new Set(DSN_VECTORS.map((v) => v.dsn)).size).toBe(DSN_VECTORS.length)
    expect(new Set(DSN_VECTORS.map((v) => v.label)).size).toBe(DSN_VECTORS.length)
    // Both outcomes well represented, or the comparison proves little.
    expect(libpq.filter((r) => r.ok).length).toBeGreaterThan(60)
    expect(libpq.filter((r) => !r.ok).length).toBeGreaterThan(30)
    expect(new Set(libpq.flatMap((r) => (r.ok ? [] : [classOf(r.error)?.id]))).size).toBe(ERROR_CLASSES.length)
  })

  it('knows the keywords this libpq knows, plus load_balance_hosts before libpq 16', () => {
    // A newer libpq (16+) knows more keywords: this fails until DSN_KEYWORDS is brought up to it.
    const { installed } = libpqAnswers()
    const expected = new Set(installed.keywords)
    if (installed.version < 160000) expected.add('load_balance_hosts')
    expect([...DSN_KEYWORDS].sort()).toEqual([...expected].sort())
  })

  it('leaves out load_balance_hosts only because this libpq rejects it', () => {
    const { installed } = libpqAnswers()
    const [result] = libpqParse(['load_balance_hosts=random'])
    if (installed.version < 160000) expect(result).toEqual({ ok: false, error: 'invalid connection option "load_balance_hosts"' })
    else expect(result).toEqual({ ok: true, values: { load_balance_hosts: 'random' }, nonUtf8: [] })
  })

  for (const [i, { label, dsn }] of DSN_VECTORS.entries()) {
    it(label, () => {
      const theirs = libpqAnswers().libpq[i]
      if (!theirs) throw new Error(`no libpq result for vector ${i}`)
      const mine = ours(dsn)
      if (theirs.ok && theirs.nonUtf8.length === 0) {
        expect(mine).toEqual({ values: theirs.values })
      } else if (theirs.ok) {
        // libpq returns the raw bytes; no JS string holds them, so parseDsn refuses the DSN.
        const error = ourError(mine)
        expect(error.code).toBe('DSN_BAD_VALUE')
        expect(theirs.nonUtf8).toContain(error.keyword)
      } else {
        expectSameFailure(dsn, theirs.error, ourError(mine))
      }
    })
  }
})

// What libpq 15 cannot check: tested against fixed expectations.
describe('parseDsn beyond libpq 15', () => {
  it('accepts load_balance_hosts (libpq 16) in both forms', () => {
    expect(parseDsn('host=h1,h2 load_balance_hosts=random')).toEqual({ host: 'h1,h2', load_balance_hosts: 'random' })
    expect(parseDsn('postgresql://h1,h2/db?load_balance_hosts=disable')).toEqual({
      host: 'h1,h2',
      port: ',',
      dbname: 'db',
      load_balance_hosts: 'disable',
    })
    expect(parseDsn("load_balance_hosts='random' load_balance_hosts=disable")).toEqual({ load_balance_hosts: 'disable' })
  })

  it('rejects a NUL, where libpq would silently stop reading', () => {
    for (const dsn of ['host=a\0 password=secret', 'postgresql://h/db\0?sslmode=disable', 'postgresql://h/a%00b\0']) {
      const error = ourError(ours(dsn))
      expect(error.code).toBe('DSN_SYNTAX')
      expect(error.message).toMatch(/NUL/)
    }
  })

  it('rejects percent-escapes that are not UTF-8 in every part, naming the part', () => {
    const cases: [string, string][] = [
      ['postgresql://%FF@h', 'user'],
      ['postgresql://u:%C3@h', 'password'],
      ['postgresql://%E2%82/db', 'host'],
      ['postgresql://h:%80/db', 'port'],
      ['postgresql://h/%FE', 'dbname'],
      ['postgresql://h/db?application_name=%C0%AF', 'application_name'],
    ]
    for (const [dsn, keyword] of cases) {
      const error = ourError(ours(dsn))
      expect(error.code).toBe('DSN_BAD_VALUE')
      expect(error.keyword).toBe(keyword)
    }
  })
})
