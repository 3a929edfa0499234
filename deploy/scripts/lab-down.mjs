#!/usr/bin/env node
// lab-down: undo lab-up (npm run lab:down).
//
// Steps: 1. stop the API lab-up started (--no-api: leave it)
//        2. lab down: namespaces, bridge, processes, data of the inventory's lab
//        3. the env file lab-up wrote (.env, or --env-output): removed when it is the lab's, i.e.
//           holds nothing but what bring-up writes and its DATABASE_URL points into the lab's
//           subnet; any other file is left as it is, and the script says that it remains and why
// The lab is the one lab-up builds from the same inventory (deploy/inventory/lab.yml unless --inventory).
// usage: lab-down.mjs [--inventory <file>] [--env-output <path>] [--no-api]
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { labDown } from '../lab/lab.mjs'
import { stopApi } from './api-service.mjs'
import { parseOptions } from '../lib/cli-options.mjs'
import { ensureRoot } from '../lib/ensure-packages.mjs'
import { exitOn } from '../lib/errors.mjs'
import { loadInventory } from './lib/inventory.mjs'
import { labOfInventory } from './lib/inventory-lab.mjs'
import { labEnvFileVerdict } from './lib/lab-env-file.mjs'

const USAGE = `usage: lab-down.mjs [--inventory <file>] [--env-output <path>] [--no-api]
  Stops the API lab-up started (--no-api: not), takes the lab down (the lab of
  deploy/inventory/lab.yml unless --inventory) and removes the env file lab-up wrote (.env, or
  --env-output) when it is the lab's: only bring-up's lines, its DATABASE_URL in the lab's subnet.`
const here = path.dirname(fileURLToPath(import.meta.url))
/** @param {string} line */
const log = (line) => process.stderr.write(`lab-down: ${line}\n`)

try {
  const { values: args } = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: { inventory: { type: 'string' }, 'env-output': { type: 'string' }, 'no-api': { type: 'boolean' } },
  })
  const inventoryFile = path.resolve(args.inventory ?? path.join(here, '../inventory/lab.yml'))
  const inventory = await loadInventory(inventoryFile)
  const lab = labOfInventory(inventory, inventoryFile, 'lab-down')
  const envFile = path.resolve(args['env-output'] ?? path.join(here, '../../.env'))
  ensureRoot('lab-down')

  if (!args['no-api']) log(`step 1: the API ${(await stopApi()) ? 'stopped' : 'was not running'}`)
  await labDown(lab)
  log(`step 2: lab ${lab.name} (${lab.subnet}) down`)
  const text = await fs.readFile(envFile, 'utf8').catch((error) => {
    if (error.code === 'ENOENT') return null
    throw error
  })
  if (text === null) {
    log(`step 3: no env file at ${envFile}`)
  } else {
    const { remove, reason } = labEnvFileVerdict(text, lab)
    if (remove) {
      await fs.rm(envFile, { force: true })
      log(`step 3: removed ${envFile} (${reason})`)
    } else {
      log(`step 3: ${envFile} remains: not the lab's, ${reason}`)
    }
  }
} catch (error) {
  exitOn(error, { name: 'lab-down', firstLine: true, subprocessExit: true })
}
