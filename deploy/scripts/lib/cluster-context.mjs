// What every cluster script starts with: a validated inventory, its secrets, and the
// transport and runtime it names. Nothing here touches a host.
import { ensureSecrets } from './secrets.mjs'
import { loadInventory } from './inventory.mjs'
import { createTransport } from './transports/index.mjs'
import { createDockerRuntime } from './runtimes/docker-runtime.mjs'
import { createNativeRuntime } from './runtimes/native-runtime.mjs'
import { assumeFreshCluster, createRecordingTransport } from './dry-run.mjs'

/**
 * @param {string} inventoryFile
 * @param {{ssl?: string, extraVars?: Record<string, unknown>, dryRun?: boolean}} [overrides] explicit options win
 *   over the inventory; dryRun: record commands instead of running them (see dry-run.mjs), write no file
 */
export async function loadClusterContext(inventoryFile, { ssl, extraVars, dryRun = false } = {}) {
  const inventory = await loadInventory(inventoryFile, { extraVars })
  if (ssl !== undefined) inventory.ssl = ssl
  const { secrets, created, file: secretsFile } = await ensureSecrets(inventory.file, { write: !dryRun })
  const real = createTransport(inventory, { dryRun })
  const transport = dryRun ? createRecordingTransport({ real }) : real
  const runtime = inventory.runtime === 'docker' ? createDockerRuntime(inventory, transport, secrets) : createNativeRuntime(inventory, transport)
  return { inventory, secrets, secretsCreated: created, secretsFile, transport, runtime: dryRun ? assumeFreshCluster(runtime) : runtime, dryRun }
}

/** Replaces every secret value in a text, so errors and logs can never show one. */
export function redact(text, secrets) {
  let out = String(text)
  for (const value of Object.values(secrets ?? {})) {
    if (typeof value === 'string' && value.length >= 8) out = out.split(value).join('***')
  }
  return out
}
