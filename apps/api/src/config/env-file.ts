// Where DATABASE_URL comes from when the environment lacks it: the .env bring-up writes at the
// repository root, or the file PGHA_ENV_FILE names. The environment always wins.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// src/config and dist/config sit at the same depth, so this holds for `tsx` and for the build.
export const defaultEnvFile = fileURLToPath(new URL('../../../../.env', import.meta.url))

/** @returns the file that was read, if any. */
export function loadEnvFileIfNeeded(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.PGHA_ENV_FILE || defaultEnvFile
  if (env.DATABASE_URL !== undefined || !existsSync(file)) return undefined
  process.loadEnvFile(file)
  return file
}
