// One base class and one module of codes for every db-ha error. The code strings are a public
// contract (applications match on them): this pins each one.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import * as dbHa from '../src/index.js'
import {
  AttemptOutlastedBudgetError,
  DB_HA_ERROR_CODES,
  DB_HA_WARNING_CODES,
  DbHaError,
  DsnError,
  NO_SUITABLE_HOST,
  NoSuitableHostError,
  OUTCOME_UNKNOWN,
  OutcomeUnknownError,
  PgPoolUnsupportedError,
  RETRY_BUDGET_EXHAUSTED,
  RetryBudgetExhaustedError,
  RoleChangedError,
  classifyError,
} from '../src/index.js'

const classification = { kind: 'failover', sent: 'unknown', reason: 'ECONNRESET' } as const
const cause = new Error('read ECONNRESET')

// Every error class db-ha exports, built once, with the code it must carry.
const errors: [DbHaError, string][] = [
  [new DsnError(DB_HA_ERROR_CODES.DSN_SYNTAX, 'missing "=" after "host" in connection info string', 'host'), 'DSN_SYNTAX'],
  [new DsnError(DB_HA_ERROR_CODES.DSN_INVALID_OPTION, 'invalid connection option "foo"', 'foo'), 'DSN_INVALID_OPTION'],
  [new DsnError(DB_HA_ERROR_CODES.DSN_BAD_VALUE, 'invalid port number: "x"', 'port'), 'DSN_BAD_VALUE'],
  [new DsnError(DB_HA_ERROR_CODES.DSN_UNSUPPORTED, 'connection option "service" is not supported', 'service'), 'DSN_UNSUPPORTED'],
  [new NoSuitableHostError('read-write', []), 'DB_HA_NO_SUITABLE_HOST'],
  [new RoleChangedError('10.0.0.11:5432', 'read-only', 'read-write'), 'DB_HA_ROLE_CHANGED'],
  [new OutcomeUnknownError(cause, 1, classification), 'DB_HA_OUTCOME_UNKNOWN'],
  [new RetryBudgetExhaustedError(cause, 3, 10_000), 'DB_HA_RETRY_BUDGET_EXHAUSTED'],
  [new AttemptOutlastedBudgetError(10_000), 'DB_HA_ATTEMPT_OUTLASTED_BUDGET'],
  [new PgPoolUnsupportedError(['_idle'], '9.0.0'), 'DB_HA_PG_POOL_UNSUPPORTED'],
]

describe('db-ha errors', () => {
  it.each(errors.map(([error, code]) => [error.name, code, error] as const))('%s extends DbHaError with code %s', (_name, code, error) => {
    expect(error).toBeInstanceOf(DbHaError)
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe(code)
    expect(Object.values(DB_HA_ERROR_CODES)).toContain(code)
  })

  it('covers every code, and every exported error class', () => {
    expect(new Set(errors.map(([, code]) => code))).toEqual(new Set(Object.values(DB_HA_ERROR_CODES)))
    const errorClasses = Object.values(dbHa).filter((value) => typeof value === 'function' && value.prototype instanceof Error)
    expect(new Set(errors.map(([error]) => error.constructor))).toEqual(new Set(errorClasses.filter((c) => c !== DbHaError)))
  })

  it('keeps the code strings and the names applications import', () => {
    expect(DB_HA_ERROR_CODES).toEqual({
      DSN_SYNTAX: 'DSN_SYNTAX',
      DSN_INVALID_OPTION: 'DSN_INVALID_OPTION',
      DSN_BAD_VALUE: 'DSN_BAD_VALUE',
      DSN_UNSUPPORTED: 'DSN_UNSUPPORTED',
      DB_HA_NO_SUITABLE_HOST: 'DB_HA_NO_SUITABLE_HOST',
      DB_HA_ROLE_CHANGED: 'DB_HA_ROLE_CHANGED',
      DB_HA_OUTCOME_UNKNOWN: 'DB_HA_OUTCOME_UNKNOWN',
      DB_HA_RETRY_BUDGET_EXHAUSTED: 'DB_HA_RETRY_BUDGET_EXHAUSTED',
      DB_HA_ATTEMPT_OUTLASTED_BUDGET: 'DB_HA_ATTEMPT_OUTLASTED_BUDGET',
      DB_HA_PG_POOL_UNSUPPORTED: 'DB_HA_PG_POOL_UNSUPPORTED',
    })
    expect(DB_HA_WARNING_CODES).toEqual({ DB_HA_PASSFILE_MODE: 'DB_HA_PASSFILE_MODE' })
    expect([NO_SUITABLE_HOST, OUTCOME_UNKNOWN, RETRY_BUDGET_EXHAUSTED]).toEqual([
      'DB_HA_NO_SUITABLE_HOST',
      'DB_HA_OUTCOME_UNKNOWN',
      'DB_HA_RETRY_BUDGET_EXHAUSTED',
    ])
  })

  it('passes cause through to Error, and keeps each class its name', () => {
    const wrapped = new DbHaError(DB_HA_ERROR_CODES.DB_HA_ROLE_CHANGED, 'moved', { cause })
    expect(wrapped.cause).toBe(cause)
    expect(wrapped.name).toBe('DbHaError')
    expect(new OutcomeUnknownError(cause, 1, classification).cause).toBe(cause)
    expect(new RetryBudgetExhaustedError(cause, 3, 10_000).cause).toBe(cause)
    expect(errors.map(([error]) => error.name)).toEqual([
      'DsnError',
      'DsnError',
      'DsnError',
      'DsnError',
      'NoSuitableHostError',
      'RoleChangedError',
      'OutcomeUnknownError',
      'RetryBudgetExhaustedError',
      'AttemptOutlastedBudgetError',
      'PgPoolUnsupportedError',
    ])
  })

  it('classifies a RoleChangedError as failover, nothing sent', () => {
    expect(classifyError(new RoleChangedError('10.0.0.11:5432', 'read-only', 'read-write'))).toMatchObject({ kind: 'failover', sent: 'no' })
  })

  it('the public index still exports what it did', () => {
    const names = [
      'createPool',
      'createReadPool',
      'HaPool',
      'judgeRole',
      'DsnError',
      'DSN_KEYWORDS',
      'parseDsn',
      'redactDsn',
      'resolveSettings',
      'classifyError',
      'isFailoverError',
      'NoSuitableHostError',
      'NO_SUITABLE_HOST',
      'OutcomeUnknownError',
      'OUTCOME_UNKNOWN',
      'RetryBudgetExhaustedError',
      'RETRY_BUDGET_EXHAUSTED',
      'RoleChangedError',
      'AttemptOutlastedBudgetError',
      'withRetry',
      'backoffDelay',
      'SSL_MODES',
      'TARGET_SESSION_ATTRS',
    ]
    for (const name of names) expect(dbHa, name).toHaveProperty(name)
  })
})

describe('the codes module', () => {
  it('is the only place a code is spelt as a string', () => {
    const src = path.join(import.meta.dirname, '../src')
    const files = fs
      .readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && f !== path.join('errors', 'codes.ts'))
    const literal = /(['"`])(?:DB_HA|DSN)_[A-Z_]+\1/g
    const found = files.flatMap((f) => (fs.readFileSync(path.join(src, f), 'utf8').match(literal) ?? []).map((m) => `${f}: ${m}`))
    expect(found).toEqual([])
  })
})
