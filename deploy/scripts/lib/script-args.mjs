// The command line every cluster script shares: --inventory, --help, and a fixed set of other
// flags (script-main.mjs decides where the inventory comes from); anything else is an
// InputError (exit 2) before a host is touched.
import { parseArgv } from 'zx'
import { InputError } from './errors.mjs'

/**
 * @param {string[]} argv
 * @param {{usage: string, string?: string[], boolean?: string[]}} spec
 */
export function parseScriptArgs(argv, { usage, string = [], boolean = [] }) {
  const strings = ['inventory', ...string]
  const booleans = ['help', ...boolean]
  const args = parseArgv(argv, { string: strings, boolean: booleans })
  // zx adds camelCase twins of dashed flags.
  const known = new Set(['_', ...strings, ...booleans].flatMap((k) => [k, k.replace(/-(\w)/g, (_, c) => c.toUpperCase())]))
  return {
    args,
    /** Throws InputError for what is wrong; prints usage and exits 0 for --help. */
    validate() {
      if (args.help) {
        process.stdout.write(`${usage}\n`)
        process.exit(0)
      }
      const unknown = Object.keys(args).find((k) => !known.has(k))
      if (unknown) throw new InputError(`unknown option --${unknown}; ${usage}`)
      if (args._.length > 0) throw new InputError(`unexpected argument "${args._[0]}"; ${usage}`)
    },
  }
}
