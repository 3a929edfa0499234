// One place that turns any error into a problem response. Client mistakes get a specific 4xx;
// a database that is failing over gets 503 + Retry-After; anything else is a bare 500 whose
// details go to the log only.
import { classifyError, NO_SUITABLE_HOST, OUTCOME_UNKNOWN, RETRY_BUDGET_EXHAUSTED } from '@pg-ha/db-ha'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import type { Logger } from 'pino'
import { Problem, problems, sendProblem } from './problem.js'

// body-parser's error `type`s (it also sets `status`).
const BODY_ERRORS: Record<string, () => Problem> = {
  'entity.parse.failed': () => new Problem({ status: 400, code: 'INVALID_JSON', title: 'The body is not valid JSON' }),
  'entity.too.large': () =>
    new Problem({ status: 413, code: 'PAYLOAD_TOO_LARGE', title: 'The body is too large', detail: 'at most 64 kB' }),
  'charset.unsupported': () =>
    new Problem({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported charset', detail: 'send application/json in UTF-8' }),
  'encoding.unsupported': () =>
    new Problem({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      title: 'Unsupported content encoding',
      detail: 'send the body uncompressed',
    }),
  'request.aborted': () => new Problem({ status: 400, code: 'REQUEST_ABORTED', title: 'The request was aborted' }),
  'request.size.invalid': () => new Problem({ status: 400, code: 'BAD_REQUEST', title: 'The body length does not match Content-Length' }),
}

/** What toProblem may use of the request. */
export interface ProblemContext {
  /** The request's Content-Encoding header. */
  contentEncoding?: string | undefined
}

export function toProblem(error: unknown, context: ProblemContext = {}): Problem {
  if (error instanceof Problem) return error
  const type = (error as { type?: unknown }).type
  const status = (error as { status?: unknown }).status
  if (typeof type === 'string' && BODY_ERRORS[type]) return (BODY_ERRORS[type] as () => Problem)()
  if (status === 400 && isDecompressionError(error)) {
    const encoding = context.contentEncoding?.trim().toLowerCase()
    return new Problem({
      status: 400,
      code: 'BODY_NOT_DECOMPRESSED',
      title: 'The body could not be decompressed',
      detail: `the body could not be decompressed${encoding ? ` (${encoding})` : ''}: send it compressed as Content-Encoding says, or uncompressed without Content-Encoding`,
    })
  }
  if (typeof status === 'number' && status >= 400 && status < 500) return new Problem({ status, code: 'BAD_REQUEST', title: 'Bad request' })
  const code = (error as { code?: unknown }).code
  if (code === RETRY_BUDGET_EXHAUSTED || code === NO_SUITABLE_HOST || (error && classifyError(error).kind === 'failover')) {
    return problems.unavailable('the primary is changing (failover in progress); retry shortly')
  }
  if (code === OUTCOME_UNKNOWN) {
    return new Problem({
      status: 503,
      code: 'OUTCOME_UNKNOWN',
      title: 'The outcome of the write is unknown',
      detail: 'retry with the same Idempotency-Key',
      retryAfter: 1,
    })
  }
  return new Problem({ status: 500, code: 'INTERNAL', title: 'Internal server error' })
}

// body-parser passes zlib's stream errors on untyped (as 400): a code such as Z_DATA_ERROR or
// Z_BUF_ERROR (gzip, deflate), ERR__ERROR_FORMAT_... (brotli), and a numeric errno.
function isDecompressionError(error: unknown): boolean {
  const { type, code, errno } = error as { type?: unknown; code?: unknown; errno?: unknown }
  return type === undefined && typeof errno === 'number' && typeof code === 'string' && /^(Z_|ERR__?ERROR_|ERR_ZSTD_)/.test(code)
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error)
    const problem = toProblem(error, { contentEncoding: req.get('content-encoding') })
    if (problem.status >= 500) logger.error({ err: error, code: problem.code, method: req.method, path: req.path }, 'request failed')
    sendProblem(res, problem, req.originalUrl)
  }
}

export const notFound: RequestHandler = (req) => {
  throw new Problem({
    status: 404,
    code: 'ROUTE_NOT_FOUND',
    title: 'No such route',
    detail: `${req.method} ${req.path} is not a route of this API`,
  })
}

/** Methods a route does not support: 405 with Allow, rather than a misleading 404. */
export function methodNotAllowed(allow: string[]): RequestHandler {
  return (req, res) => {
    res.set('Allow', allow.join(', '))
    throw new Problem({
      status: 405,
      code: 'METHOD_NOT_ALLOWED',
      title: 'Method not allowed',
      detail: `${req.method} is not allowed here; use ${allow.join(' or ')}`,
    })
  }
}

export const emptyBody = () =>
  new Problem({
    status: 400,
    code: 'EMPTY_BODY',
    title: 'The body is empty',
    detail: 'send the order as a JSON object (Content-Type: application/json)',
  })

/**
 * 400 for a request without a body, 415 unless the body is declared JSON (checked before
 * parsing, so nothing is read in vain). A body that turns out empty once read: `rejectEmptyBody`.
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length']
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) throw emptyBody()
  if (!req.is('application/json')) {
    throw new Problem({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      title: 'Unsupported media type',
      detail: 'send the body as application/json',
    })
  }
  next()
}

/** body-parser's `verify`: an empty body (chunked, or compressed) is an error, not `{}`. */
export function rejectEmptyBody(_req: unknown, _res: unknown, body: Buffer) {
  if (body.length === 0) throw emptyBody()
}
