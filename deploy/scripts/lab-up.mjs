#!/usr/bin/env node
// lab-up: the main job on one machine: a fresh 3-VM lab, a pg_auto_failover cluster on it, the
// application DSN in .env, and the reference API serving on it.
//
// Steps: 1. ensure root and the Debian packages
//        2. lab up (cleans any earlier lab of the same name first)
//        3. bring-up with the lab inventory (deploy/inventory/lab.yml unless --inventory)
//        4. print the cluster status
//        5. the API: build, migrate, (re)start in the background, wait until ready (--no-api: skip)
// usage: lab-up.mjs [--inventory <file>] [--env-output <path>] [--json] [--no-api] [--api-port 3000]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { $, parseArgv } from 'zx'
import { resolveLabConfig } from '../lab/lab-config.mjs'
import { labUp } from '../lab/lab.mjs'
import { startApi, stopApi } from './api-service.mjs'
import { ensureRoot } from './lib/ensure-packages.mjs'
import { InputError, exitCodeFor } from './lib/errors.mjs'
import { loadInventory } from './lib/inventory.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = parseArgv(process.argv.slice(2), { string: ['inventory', 'env-output', 'api-port'], boolean: ['json', 'api'], default: { api: true } })
const inventoryFile = path.resolve(args.inventory ?? path.join(here, '../inventory/lab.yml'))
const log = (line) => process.stderr.write(`lab-up: ${line}\n`)

try {
  const inventory = await loadInventory(inventoryFile)
  if (inventory.transport !== 'netns') throw new InputError('lab-up needs an inventory with transport "netns"', { file: inventoryFile, key: 'all.vars.transport' })
  const vms = new Set([inventory.monitor, ...inventory.nodes].map((h) => h.labVm))
  const lab = resolveLabConfig({ name: inventory.labName, subnet: inventory.networkCidr, vms: Math.max(...[...vms].map((vm) => Number(vm.slice(2)))) })
  const apiPort = args['api-port'] === undefined ? 3000 : Number(args['api-port'])
  if (!Number.isInteger(apiPort) || apiPort < 1 || apiPort > 65535) throw new InputError(`--api-port "${args['api-port']}" is not a TCP port`)
  ensureRoot('lab-up')
  // The API of an earlier run talks to the lab about to be rebuilt: stop it first.
  if (args.api && (await stopApi())) log('stopped the API of an earlier run')
  log(`step 1-2: lab ${lab.name} on ${lab.subnet}`)
  await labUp(lab, { log })
  log('step 3: bring-up')
  await $({ stdio: 'inherit' })`node ${path.join(here, 'bringup.mjs')} --inventory ${inventoryFile} ${args['env-output'] ? ['--env-output', args['env-output']] : []} ${args.json ? ['--json'] : []}`
  log('step 4: status')
  await $({ stdio: 'inherit' })`node ${path.join(here, 'status.mjs')} --inventory ${inventoryFile}`
  if (args.api) {
    log('step 5: the API')
    const url = await startApi({ envFile: path.resolve(args['env-output'] ?? path.join(here, '../../.env')), port: apiPort })
    log(`done: API at ${url} (stop it with: node deploy/scripts/api-service.mjs stop)`)
  }
} catch (error) {
  log(`${error.code === 'INPUT_INVALID' ? 'invalid input' : 'failed'}: ${error.message.split('\n')[0]}`)
  process.exit(error.exitCode ?? exitCodeFor(error))
}
