// How errors become problem responses: client mistakes 4xx, failovers 503, the rest a bare 500.
import { NoSuitableHostError, OutcomeUnknownError, RetryBudgetExhaustedError, classifyError } from '@pg-ha/db-ha'
import { describe, expect, it } from 'vitest'
import { toProblem } from '../../src/http/error-handler.js'

const bodyParserError = (type: string, status: number) => Object.assign(new Error(type), { type, status, expose: true })

describe('toProblem', () => {
  it('maps body-parser errors to specific client errors', () => {
    expect(toProblem(bodyParserError('entity.parse.failed', 400))).toMatchObject({ status: 400, code: 'INVALID_JSON' })
    expect(toProblem(bodyParserError('entity.too.large', 413))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' })
    expect(toProblem(bodyParserError('charset.unsupported', 415))).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  it('says a compressed body could not be decompressed, naming the encoding', () => {
    const zlibError = Object.assign(new Error('incorrect header check'), { errno: -3, code: 'Z_DATA_ERROR', status: 400, expose: true })
    expect(toProblem(zlibError, { contentEncoding: 'gzip' })).toMatchObject({
      status: 400,
      code: 'BODY_NOT_DECOMPRESSED',
      detail: expect.stringContaining('(gzip)'),
    })
    const brotliError = Object.assign(new Error('Decompression failed'), { errno: -14, code: 'ERR__ERROR_FORMAT_PADDING_1', status: 400 })
    expect(toProblem(brotliError, { contentEncoding: 'br' })).toMatchObject({
      code: 'BODY_NOT_DECOMPRESSED',
      detail: expect.stringContaining('(br)'),
    })
  })

  it('answers 503 with Retry-After for failovers that outlast the retry budget', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' })
    for (const error of [
      new RetryBudgetExhaustedError(refused, 5, 10_000),
      new NoSuitableHostError('read-write', [{ host: '10.0.0.11', port: 5432, reason: 'read-only' }]),
      refused,
    ])
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', retryAfter: 1 })
    const unknown = new OutcomeUnknownError(
      new Error('Connection terminated unexpectedly'),
      1,
      classifyError(new Error('Connection terminated unexpectedly')),
    )
    expect(toProblem(unknown)).toMatchObject({ status: 503, code: 'OUTCOME_UNKNOWN' })
  })

  it('hides everything else behind a bare 500', () => {
    const problem = toProblem(
      Object.assign(new Error('relation "orders" does not exist at character 13 postgresql://app:pw@h/app'), { code: '42P01' }),
    )
    expect(problem).toMatchObject({ status: 500, code: 'INTERNAL', title: 'Internal server error' })
    expect(problem.detail).toBeUndefined()
  })
})
