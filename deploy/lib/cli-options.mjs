// The one command-line parser of every entry point (the cluster scripts, lab-up, api-service, the
// lab CLI): node:util parseArgs in strict mode. --help (or -h) prints the usage and exits 0
// before anything else runs, whatever else is on the line; an unknown or misspelled option, a
// missing value, a value given to a flag and an unexpected argument are InputErrors (exit 2)
// naming what was wrong.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import YAML, { YAMLParseError } from 'yaml'
import { errorCode, errorMessage } from './error-message.mjs'
import { InputError } from './errors.mjs'

/**
 * @typedef {Record<string, {type: 'string'|'boolean', short?: string, multiple?: boolean}>} OptionSpec
 * @param {string[]} argv the arguments after the script's name
 * @param {{usage: string, options?: OptionSpec, positionals?: boolean, rest?: boolean}} spec
 *   positionals: words other than options are allowed; rest: what follows `--` is returned as is
 * @returns {{values: Record<string, any>, positionals: string[], rest: string[] | undefined}}
 */
export function parseOptions(argv, { usage, options = {}, positionals = false, rest = false }) {
  const end = argv.indexOf('--')
  const head = rest && end >= 0 ? argv.slice(0, end) : argv
  if (head.includes('--help') || head.includes('-h')) {
    process.stdout.write(`${usage}\n`)
    process.exit(0)
  }
  let parsed
  try {
    parsed = parseArgs({ args: head, options, strict: true, allowPositionals: positionals })
  } catch (error) {
    throw new InputError(`${describeParseError(error)}; ${usage}`)
  }
  return { values: parsed.values, positionals: parsed.positionals, rest: rest && end >= 0 ? argv.slice(end + 1) : undefined }
}

/** parseArgs' complaint, short: "unknown option --nmae", "unexpected argument "x"", ... @param {unknown} error */
function describeParseError(error) {
  const message = errorMessage(error)
  const code = errorCode(error)
  const quoted = /'([^']*)'/.exec(message)?.[1]
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted) return `unknown option ${quoted}`
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted) return `unexpected argument "${quoted}"`
  return message.split(/\.(\s|$)/)[0] ?? message
}

/** @param {string | undefined} value @param {string} flag @returns {number | undefined} */
export function tcpPortOption(value, flag) {
  if (value === undefined) return undefined
  const port = Number(value)
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new InputError(`${flag} "${value}" is not a TCP port (1-65535)`)
  return port
}

/**
 * Ansible's extra variables, each `-e` / `--extra-vars` one of: key=value [key=value ...],
 * a JSON or YAML mapping, or @file (a YAML or JSON mapping). Later ones win, as in Ansible.
 * A value of key=value is read as a YAML scalar (so `candidate_priority=10` is a number).
 * @param {string[]} items
 * @returns {Record<string, unknown>}
 */
export function parseExtraVars(items) {
  /** @type {Record<string, unknown>} */
  const vars = {}
  for (const item of items) {
    if (item.startsWith('@')) {
      const file = item.slice(1)
      let text
      try {
        text = fs.readFileSync(file, 'utf8')
      } catch (error) {
        throw new InputError(`-e @${file}: cannot read it (${errorCode(error) ?? error})`)
      }
      Object.assign(vars, mapping(text, `-e @${file}`))
    } else if (/^\s*\{/.test(item)) {
      Object.assign(vars, mapping(item, '-e {…}'))
    } else {
      for (const pair of item.trim().split(/\s+/)) {
        const eq = pair.indexOf('=')
        // Values may be passwords: an error shows a word only when it can be nothing but a name.
        if (eq < 0) {
          throw new InputError(
            `-e ${/^[A-Za-z_][A-Za-z0-9_]*$/.test(pair) ? `"${pair}"` : 'word'}: expected key=value, a JSON or YAML mapping, or @file`,
          )
        }
        if (eq === 0) throw new InputError('-e "=…": no variable name before "="')
        vars[pair.slice(0, eq)] = scalar(pair.slice(eq + 1))
      }
    }
  }
  return vars
}

/** @param {string} text @param {string} what @returns {Record<string, unknown>} */
function mapping(text, what) {
  let doc
  try {
    doc = YAML.parse(text)
  } catch (error) {
    // yaml's message quotes the text, which may hold a password: its position only.
    const at = error instanceof YAMLParseError ? error.linePos?.[0] : undefined
    throw new InputError(`${what.startsWith('-e @') ? what : '-e'}: not YAML or JSON${at ? ` (line ${at.line}, column ${at.col})` : ''}`)
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new InputError(`${what}: expected a mapping of variables`)
  return doc
}

/** @param {string} text */
function scalar(text) {
  if (text === '') return ''
  try {
    const value = YAML.parse(text)
    return typeof value === 'number' || typeof value === 'boolean' ? value : text
  } catch {
    return text
  }
}
