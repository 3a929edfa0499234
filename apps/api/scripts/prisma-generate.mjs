#!/usr/bin/env node
// `prisma generate` that works offline. Prisma's CLI insists on having its native schema engine
// before it runs `generate`, and downloads it from Prisma's CDN when it is missing. `generate`
// never runs that engine (the prisma-client generator is pure JS + wasm), so when neither
// PRISMA_SCHEMA_ENGINE_BINARY nor a downloaded engine exists, we point the variable at a placeholder
// that fails loudly if anything ever does try to run it. Safe to run any number of times.
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const appDir = dirname(dirname(fileURLToPath(import.meta.url)))
const require = createRequire(join(appDir, 'package.json'))
const generatedClient = join(appDir, 'src', 'generated', 'prisma', 'client.ts')

function fail(message) {
  console.error(`prisma-generate: ${message}`)
  process.exit(1)
}

function resolveFrom(specifier) {
  try {
    return require.resolve(specifier)
  } catch {
    return undefined
  }
}

/** True when @prisma/engines' postinstall did manage to download the schema engine. */
function hasDownloadedEngine() {
  const enginesPackage = resolveFrom('@prisma/engines/package.json')
  if (!enginesPackage) return false
  return readdirSync(dirname(enginesPackage)).some((name) => name.startsWith('schema-engine-'))
}

function placeholderEngine() {
  const dir = join(appDir, 'node_modules', '.cache', 'prisma-offline')
  const file = join(dir, 'schema-engine-placeholder')
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      file,
      [
        '#!/bin/sh',
        'echo "This is a placeholder for Prisma\'s schema engine, set by apps/api/scripts/prisma-generate.mjs so that' +
          ' prisma generate runs offline. Commands that need the real engine (migrate, db) cannot use it." >&2',
        'exit 1',
        '',
      ].join('\n'),
    )
    chmodSync(file, 0o755)
  }
  return file
}

const cli = resolveFrom('prisma/build/index.js')
if (!cli) fail('the prisma CLI is not installed (devDependency "prisma" of @pg-ha/api); run npm install at the repo root')

const env = { ...process.env }
// Without this the CLI pings Prisma's update server, which only costs a timeout offline.
env.CHECKPOINT_DISABLE ??= '1'
env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1'
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !hasDownloadedEngine()) env.PRISMA_SCHEMA_ENGINE_BINARY = placeholderEngine()

const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { cwd: appDir, env, stdio: 'inherit' })
if (result.error) fail(`could not start the prisma CLI: ${result.error.message}`)
if (result.status !== 0) {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.status}`
  fail(`\`prisma generate\` ${how}; see its output above. PRISMA_SCHEMA_ENGINE_BINARY=${env.PRISMA_SCHEMA_ENGINE_BINARY ?? '(unset)'}`)
}
if (!existsSync(generatedClient))
  fail(
    `\`prisma generate\` succeeded but ${relative(appDir, generatedClient)} is missing; check the generator output in prisma/schema.prisma`,
  )
