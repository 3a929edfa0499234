// What a caught value says about itself. `catch (error)` gives `unknown`: anything may be thrown
// (an Error, zx's ProcessOutput, a string), so these read it without assuming an Error.

/**
 * The message of a thrown value: an Error's (or any object's) `message`, else the value itself as
 * a string.
 * @param {unknown} error
 * @returns {string}
 */
export function errorMessage(error) {
  if (error instanceof Error) return error.message
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message)
  return String(error)
}

/**
 * The `code` of a thrown value (a Node.js system error's "ENOENT", a kit error's "INPUT_INVALID",
 * parseArgs' "ERR_PARSE_ARGS_..."), or undefined when it has none.
 * @param {unknown} error
 * @returns {unknown}
 */
export function errorCode(error) {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
}
