#!/usr/bin/env node
// lab-up: the main job on one machine: a fresh 3-VM lab, a pg_auto_failover cluster on it, the
// application DSN in .env, and the reference API serving on it.
//
// Steps: 1. ensure root and the Debian packages
//        2. runtime docker only: the image (npm run image; cached, a re-run builds nothing) and its archive
//        3. lab up (cleans any earlier lab of the same name first); runtime docker: a dockerd in
//           every VM, the image's archive loaded into each
//        4. bring-up with the lab inventory (deploy/inventory/lab.yml, lab-docker.yml with
//           --runtime docker, or --inventory)
//        5. print the cluster status
//        6. the API: build, migrate, (re)start in the background, wait until ready (--no-api: skip)
// Destructive: step 3 deletes a lab of the same name and everything in it, so a lab that exists
// needs --yes. --help and bad options change nothing (exit 0 / exit 2 before step 1).
// usage: lab-up.mjs [--yes] [--runtime native|docker | --inventory <file>] [--env-output <path>] [--json] [--no-api] [--api-port 3000]
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { $ } from 'zx'
import { labUp } from '../lab/lab.mjs'
import { startApi, stopApi } from './api-service.mjs'
import { parseOptions, tcpPortOption } from '../lib/cli-options.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { InputError, exitOn } from '../lib/errors.mjs'
import { loadInventory } from './lib/inventory.mjs'
import { labOfInventory } from './lib/inventory-lab.mjs'

const USAGE = `usage: lab-up.mjs [--yes] [--runtime native|docker | --inventory <file>] [--env-output <path>] [--json] [--no-api] [--api-port <port>]
  A fresh lab (an earlier lab of the same name is deleted, with its cluster and data: --yes), a
  pg_auto_failover cluster on it (deploy/inventory/lab.yml; --runtime docker: lab-docker.yml, a
  dockerd in every VM and the image npm run image builds; or --inventory), the DSN in .env (or
  --env-output) and the reference API on 127.0.0.1:3000 (--api-port; --no-api: none).`
const LAB_INVENTORIES = { native: 'lab.yml', docker: 'lab-docker.yml' }
const here = path.dirname(fileURLToPath(import.meta.url))
/** @param {string} line */
const log = (line) => process.stderr.write(`lab-up: ${line}\n`)

try {
  const { values: args } = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: {
      inventory: { type: 'string' },
      'env-output': { type: 'string' },
      'api-port': { type: 'string' },
      json: { type: 'boolean' },
      'no-api': { type: 'boolean' },
      yes: { type: 'boolean' },
      runtime: { type: 'string' },
    },
  })
  args.api = !args['no-api']
  const runtime = args.runtime
  if (runtime !== undefined && !Object.hasOwn(LAB_INVENTORIES, runtime)) {
    throw new InputError(`--runtime must be ${Object.keys(LAB_INVENTORIES).join(' or ')}, got "${runtime}"`)
  }
  if (runtime !== undefined && args.inventory !== undefined) {
    throw new InputError("--runtime picks the lab inventory; with --inventory, the inventory's runtime variable says it: drop one")
  }
  const labInventory = LAB_INVENTORIES[/** @type {keyof typeof LAB_INVENTORIES} */ (runtime ?? 'native')]
  const inventoryFile = path.resolve(args.inventory ?? path.join(here, '../inventory', labInventory))
  const inventory = await loadInventory(inventoryFile)
  const lab = labOfInventory(inventory, inventoryFile, 'lab-up')
  const apiPort = tcpPortOption(args['api-port'], '--api-port') ?? 3000
  ensureRoot('lab-up')
  if (!args.yes && existsSync(lab.dir)) {
    throw new InputError(
      `lab ${lab.name} already exists (${lab.dir}): lab-up deletes it, its cluster and its data, and builds a new one. ` +
        'Add --yes to do that (npm run lab -- --yes), or take it down first (npm run lab:down)',
    )
  }
  // The API of an earlier run talks to the lab about to be rebuilt: stop it first.
  if (args.api && (await stopApi())) log('stopped the API of an earlier run')
  /** @type {string[]} */
  const images = []
  if (inventory.runtime === 'docker') {
    log(`step 2: the image (${path.relative(process.cwd(), path.join(here, '../image/build-image.mjs'))})`)
    const built = await $({ stdio: ['ignore', 'pipe', 'inherit'] })`node ${path.join(here, '../image/build-image.mjs')}`
    const archive = /^archive (.+)$/m.exec(built.stdout)?.[1]
    if (!archive) throw new Error(`build-image printed no archive: ${built.stdout.trim()}`)
    images.push(archive)
  }
  log(`step 3: lab ${lab.name} on ${lab.subnet}${images.length ? ', a dockerd in every VM' : ''}`)
  await labUp(lab, { log, docker: images.length > 0, images })
  log('step 4: bring-up')
  await $({
    stdio: 'inherit',
  })`node ${path.join(here, 'bringup.mjs')} --inventory ${inventoryFile} ${args['env-output'] ? ['--env-output', args['env-output']] : []} ${args.json ? ['--json'] : []}`
  log('step 5: status')
  await $({ stdio: 'inherit' })`node ${path.join(here, 'status.mjs')} --inventory ${inventoryFile}`
  if (args.api) {
    log('step 6: the API')
    const url = await startApi({ envFile: path.resolve(args['env-output'] ?? path.join(here, '../../.env')), port: apiPort })
    log(`done: API at ${url} (stop it with: node deploy/scripts/api-service.mjs stop)`)
  }
} catch (error) {
  exitOn(error, { name: 'lab-up', firstLine: true, subprocessExit: true })
}
