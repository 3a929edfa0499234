// Errors the scripts report to operators. Each has a stable `code`; InputError means
// "fix your input" and maps to exit 2, before any host has been touched.

export class InputError extends Error {
  /** @param {string} message @param {{file?: string, key?: string}} [where] */
  constructor(message, { file, key } = {}) {
    super([file, key].filter(Boolean).join(': ') + (file || key ? ': ' : '') + message)
    this.name = 'InputError'
    this.code = 'INPUT_INVALID'
    this.file = file
    this.key = key
  }
}

export class StepError extends Error {
  /** @param {string} message @param {{step: string, host?: string, cause?: unknown}} context */
  constructor(message, { step, host, cause }) {
    super(message, { cause })
    this.name = 'StepError'
    this.code = 'STEP_FAILED'
    this.step = step
    this.host = host
  }
}

/** The exit code a script uses for an error. */
export function exitCodeFor(error) {
  return error?.code === 'INPUT_INVALID' ? 2 : 1
}
