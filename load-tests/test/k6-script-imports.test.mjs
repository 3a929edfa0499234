// failover.js runs under the user's own k6, which has no Node built-ins and must not fetch code
// (remote jslib) during a drill: the script and every file it imports, followed through relative
// imports, import only k6's modules and relative files. lib/*.js are held to the same rule (they
// are checked against k6's types, tsconfig.k6.json). Specifiers are read with TypeScript's
// scanner, which finds static imports, re-exports, dynamic import() and require().
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const K6_MODULES = ['k6', 'k6/http', 'k6/metrics', 'k6/execution']

/** Every module specifier in a JavaScript source. @param {string} source */
function specifiersIn(source) {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName)
}

const isRelative = (/** @type {string} */ specifier) => specifier.startsWith('./') || specifier.startsWith('../')

/**
 * The files reached from `entries` through relative imports, each with its specifiers.
 * @param {string[]} entries absolute paths
 * @returns {Map<string, string[]>}
 */
function importGraph(entries) {
  /** @type {Map<string, string[]>} */
  const graph = new Map()
  const pending = [...entries]
  while (pending.length > 0) {
    const file = /** @type {string} */ (pending.pop())
    if (graph.has(file)) continue
    if (!fs.existsSync(file)) {
      graph.set(file, [])
      continue
    }
    const specifiers = specifiersIn(fs.readFileSync(file, 'utf8'))
    graph.set(file, specifiers)
    for (const specifier of specifiers.filter(isRelative)) pending.push(path.resolve(path.dirname(file), specifier))
  }
  return graph
}

const libFiles = fs
  .readdirSync(path.join(ROOT, 'lib'))
  .filter((name) => name.endsWith('.js'))
  .map((name) => path.join(ROOT, 'lib', name))
const graph = importGraph([path.join(ROOT, 'failover.js'), ...libFiles])
const relative = (/** @type {string} */ file) => path.relative(ROOT, file)

describe('the k6 script imports', () => {
  it('reads failover.js and the lib files it imports', () => {
    const files = [...graph.keys()].map(relative)
    expect(files).toEqual(expect.arrayContaining(['failover.js', 'lib/scenario.js', 'lib/k6-options.js', 'lib/k6-summary.js']))
    expect(graph.get(path.join(ROOT, 'failover.js'))).toEqual(expect.arrayContaining(['k6/http', './lib/scenario.js']))
  })

  it("imports nothing but k6's modules and relative files", () => {
    const offending = [...graph].flatMap(([file, specifiers]) =>
      specifiers
        .filter((specifier) => !isRelative(specifier) && !K6_MODULES.includes(specifier))
        .map((specifier) => `${relative(file)}: ${specifier}`),
    )
    expect(offending).toEqual([])
  })

  it('imports relative files that exist, by their full name (k6 resolves no extension)', () => {
    const missing = [...graph.keys()].filter((file) => !fs.existsSync(file) || !/\.m?js$/.test(file)).map(relative)
    expect(missing).toEqual([])
  })

  it('would see a Node built-in, a remote jslib, a re-export, a dynamic import and a require', () => {
    const source = [
      "import fs from 'node:fs'",
      "import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js'",
      "export * from 'k6/experimental/redis'",
      "const later = import('k6/browser')",
      "const path = require('path')",
      '// import x from "in-a-comment"',
    ].join('\n')
    expect(specifiersIn(source)).toEqual([
      'node:fs',
      'https://jslib.k6.io/k6-summary/0.0.2/index.js',
      'k6/experimental/redis',
      'k6/browser',
      'path',
    ])
  })
})
