// The command line every cluster script shares: --inventory, --help, -e/--extra-vars and a fixed
// set of other flags (script-main.mjs decides where the inventory comes from); anything else is
// an InputError (exit 2) before a host is touched. Parsed by cli-options.mjs, as every entry point.
import { parseExtraVars, parseOptions } from '../../lib/cli-options.mjs'

/**
 * @param {string[]} argv
 * @param {{usage: string, string?: string[], boolean?: string[]}} spec
 * @returns {{args: Record<string, any>, validate: () => void}} validate throws what was wrong
 *   (inside the script's error handling); --help has printed the usage and exited 0 already
 */
export function parseScriptArgs(argv, { usage, string = [], boolean = [] }) {
  /** @type {import('../../lib/cli-options.mjs').OptionSpec} */
  const options = { inventory: { type: 'string' }, 'extra-vars': { type: 'string', short: 'e', multiple: true } }
  for (const name of string) options[name] = { type: 'string' }
  for (const name of boolean) options[name] = { type: 'boolean' }
  try {
    const { values } = parseOptions(argv, { usage, options })
    const args = { ...values, extraVars: parseExtraVars(values['extra-vars'] ?? []) }
    return { args, validate() {} }
  } catch (error) {
    // --json still shapes the error report when the rest of the line is wrong.
    return {
      args: { json: argv.includes('--json') },
      validate() {
        throw error
      },
    }
  }
}
