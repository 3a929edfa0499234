// RFC 9457 problem details: every error response of the API is one of these, with a stable
// `code` clients can switch on. Never a stack trace, SQL text or DSN.
import type { Response } from 'express'

export interface FieldError {
  /** Where in the request: e.g. "body.items.0.quantity", "header.idempotency-key", "query.limit". */
  path: string
  message: string
}

export interface ProblemInit {
  status: number
  code: string
  title: string
  detail?: string
  errors?: FieldError[]
  /** Seconds, sent as Retry-After (503, 429). */
  retryAfter?: number
}

export class Problem extends Error {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail?: string
  readonly errors?: FieldError[]
  readonly retryAfter?: number

  constructor(init: ProblemInit) {
    super(init.detail ?? init.title)
    this.name = 'Problem'
    this.status = init.status
    this.code = init.code
    this.title = init.title
    if (init.detail !== undefined) this.detail = init.detail
    if (init.errors !== undefined) this.errors = init.errors
    if (init.retryAfter !== undefined) this.retryAfter = init.retryAfter
  }
}

export function sendProblem(res: Response, problem: Problem, instance: string) {
  if (problem.retryAfter !== undefined) res.set('Retry-After', String(problem.retryAfter))
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: `/problems/${problem.code.toLowerCase().replaceAll('_', '-')}`,
      title: problem.title,
      status: problem.status,
      code: problem.code,
      ...(problem.detail !== undefined && { detail: problem.detail }),
      instance,
      ...(problem.errors !== undefined && { errors: problem.errors }),
    })
}

export const problems = {
  notFound: (what: string) => new Problem({ status: 404, code: 'NOT_FOUND', title: 'Not found', detail: `${what} does not exist` }),
  validation: (errors: FieldError[]) =>
    new Problem({
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'The request is invalid',
      detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      errors,
    }),
  unavailable: (detail: string, retryAfter = 1) =>
    new Problem({ status: 503, code: 'DATABASE_UNAVAILABLE', title: 'The database is not available right now', detail, retryAfter }),
}
