// Where every benchmark of this package writes its figures: bench/results/ at the repository's
// root, one JSON file per run, named for the benchmark and its start time.
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results')

/**
 * Writes `results` to bench/results/<name>-<startedAt>.json.
 * @param {string} name @param {string} startedAt an ISO time @param {unknown} results
 * @returns {Promise<string>} the file written
 */
export async function writeBenchResults(name, startedAt, results) {
  await fs.mkdir(RESULTS_DIR, { recursive: true })
  const file = path.join(RESULTS_DIR, `${name}-${startedAt.replace(/[:.]/g, '-')}.json`)
  await fs.writeFile(file, JSON.stringify(results, null, 2) + '\n')
  return file
}
