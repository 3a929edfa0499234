// Errors the kit reports to operators, and how an entry point ends on one. Each has a stable
// `code` (what --json output and callers match on); InputError means "fix your input" and maps
// to exit 2, before any host has been touched. Messages never hold a secret: they are built
// from names, paths and other errors' messages, and printed through the scripts' scrub.

import { errorCode } from './error-message.mjs'

/** An error with a stable `code`. */
export class KitError extends Error {
  /** @param {string} message @param {{code: string, cause?: unknown}} options */
  constructor(message, { code, cause }) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'KitError'
    /** @type {string} */
    this.code = code
  }
}

export class InputError extends KitError {
  /** @param {string} message @param {{file?: string, key?: string}} [where] */
  constructor(message, { file, key } = {}) {
    super([file, key].filter(Boolean).join(': ') + (file || key ? ': ' : '') + message, { code: 'INPUT_INVALID' })
    this.name = 'InputError'
    this.file = file
    this.key = key
  }
}

/**
 * A step of a script failed: what progress.step throws once it has printed the failed step.
 * The message is the cause's; the code too when the cause is a KitError (INPUT_INVALID,
 * HOST_UNREACHABLE, ...), else STEP_FAILED.
 */
export class StepError extends KitError {
  /** @param {string} message @param {{step: string, host?: string, cause?: unknown}} context */
  constructor(message, { step, host, cause }) {
    super(message, { code: cause instanceof KitError ? cause.code : 'STEP_FAILED', cause })
    this.name = 'StepError'
    this.step = step
    this.host = host
  }
}

/** The exit code a script uses for an error. @param {unknown} error anything thrown */
export function exitCodeFor(error) {
  return errorCode(error) === 'INPUT_INVALID' ? 2 : 1
}

/**
 * The line an entry point prints for an error: `<name>: invalid input: <message>`, or
 * `<name>: failed[ at step "<step>"]: <message>`.
 * @param {any} error
 * @param {{name: string, firstLine?: boolean, scrub?: (text: string) => string}} options
 *   firstLine: the message's first line only; scrub: removes secrets from the message
 */
export function failureSummary(error, { name, firstLine = false, scrub = (text) => text }) {
  const message = scrub(String(error?.message ?? error))
  const what = error?.code === 'INPUT_INVALID' ? 'invalid input' : `failed${error?.step ? ` at step "${error.step}"` : ''}`
  return `${name}: ${what}: ${firstLine ? message.split('\n')[0] : message}\n`
}

/**
 * Ends an entry point on an error: its failureSummary on stderr, then exit with
 * exitCodeFor(error); with subprocessExit, a failed subprocess's own exit code (zx's
 * ProcessOutput.exitCode, e.g. bring-up's 2 for bad input) instead. Never returns.
 * @param {any} error
 * @param {{name: string, firstLine?: boolean, scrub?: (text: string) => string, subprocessExit?: boolean}} options
 * @returns {never}
 */
export function exitOn(error, { subprocessExit = false, ...summary }) {
  process.stderr.write(failureSummary(error, summary))
  process.exit(subprocessExit && Number.isInteger(error?.exitCode) ? error.exitCode : exitCodeFor(error))
}
