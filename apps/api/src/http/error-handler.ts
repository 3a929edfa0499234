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
  'entity.too.large': () => new Problem({ status: 413, code: 'PAYLOAD_TOO_LARGE', title: 'The body is too large', detail: 'at most 64 kB' }),
  'charset.unsupported': () => new Problem({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported charset', detail: 'send application/json in UTF-8' }),
  'encoding.unsupported': () => new Problem({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported content encoding', detail: 'send the body uncompressed' }),
  'request.aborted': () => new Problem({ status: 400, code: 'REQUEST_ABORTED', title: 'The request was aborted' }),
  'request.size.invalid': () => new Problem({ status: 400, code: 'BAD_REQUEST', title: 'The body length does not match Content-Length' }),
}

export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error
  const type = (error as { type?: unknown }).type
  const status = (error as { status?: unknown }).status
  if (typeof type === 'string' && BODY_ERRORS[type]) return (BODY_ERRORS[type] as () => Problem)()
  if (typeof status === 'number' && status >= 400 && status < 500) return new Problem({ status, code: 'BAD_REQUEST', title: 'Bad request' })
  const code = (error as { code?: unknown }).code
  if (code === RETRY_BUDGET_EXHAUSTED || code === NO_SUITABLE_HOST || (error && classifyError(error).kind === 'failover')) {
    return problems.unavailable('the primary is changing (failover in progress); retry shortly')
  }
  if (code === OUTCOME_UNKNOWN) {
    return new Problem({ status: 503, code: 'OUTCOME_UNKNOWN', title: 'The outcome of the write is unknown', detail: 'retry with the same Idempotency-Key', retryAfter: 1 })
  }
  return new Problem({ status: 500, code: 'INTERNAL', title: 'Internal server error' })
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error)
    const problem = toProblem(error)
    if (problem.status >= 500) logger.error({ err: error, code: problem.code, method: req.method, path: req.path }, 'request failed')
    sendProblem(res, problem, req.originalUrl)
  }
}

export const notFound: RequestHandler = (req) => {
  throw new Problem({ status: 404, code: 'ROUTE_NOT_FOUND', title: 'No such route', detail: `${req.method} ${req.path} is not a route of this API` })
}

/** Methods a route does not support: 405 with Allow, rather than a misleading 404. */
export function methodNotAllowed(allow: string[]): RequestHandler {
  return (req, res) => {
    res.set('Allow', allow.join(', '))
    throw new Problem({ status: 405, code: 'METHOD_NOT_ALLOWED', title: 'Method not allowed', detail: `${req.method} is not allowed here; use ${allow.join(' or ')}` })
  }
}

/** 415 unless the body is declared JSON (checked before parsing, so nothing is read in vain). */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (!req.is('application/json')) {
    throw new Problem({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', title: 'Unsupported media type', detail: 'send the body as application/json' })
  }
  next()
}
