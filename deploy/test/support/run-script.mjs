// Runs one of the project's CLIs the way an operator would, and captures what it printed.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const deployDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/**
 * @param {string} script path relative to deploy/ (e.g. "scripts/bringup.mjs")
 * @param {string[]} args
 * @param {{timeoutMs?: number, input?: string, prefix?: string[]}} [options]
 * @returns {Promise<{code: number|null, stdout: string, stderr: string}>}
 */
export function runScript(script, args, { timeoutMs = 180_000, prefix = [] } = {}) {
  const [program, ...programArgs] = [...prefix, process.execPath, path.join(deployDir, script), ...args]
  return new Promise((resolve, reject) => {
    // At least process.execPath: never undefined, though a spread hides that from the checker.
    if (program === undefined) throw new Error('runScript: empty command line')
    const child = spawn(program, programArgs, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
