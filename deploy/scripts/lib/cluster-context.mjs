// What every cluster script starts with: a validated inventory, its secrets, and the
// transport and runtime it names. Nothing here touches a host.
import { ensureSecrets } from './secrets.mjs'
import { loadInventory } from './inventory.mjs'
import { createTransport } from './transports/index.mjs'
import { createNativeRuntime } from './runtimes/native-runtime.mjs'

/** @param {string} inventoryFile @param {{ssl?: string}} [overrides] explicit options win over the inventory */
export async function loadClusterContext(inventoryFile, overrides = {}) {
  const inventory = await loadInventory(inventoryFile)
  if (overrides.ssl !== undefined) inventory.ssl = overrides.ssl
  const { secrets, created, file: secretsFile } = await ensureSecrets(inventory.file)
  const transport = createTransport(inventory)
  const runtime = createNativeRuntime(inventory, transport)
  return { inventory, secrets, secretsCreated: created, secretsFile, transport, runtime }
}

/** Replaces every secret value in a text, so errors and logs can never show one. */
export function redact(text, secrets) {
  let out = String(text)
  for (const value of Object.values(secrets ?? {})) {
    if (typeof value === 'string' && value.length >= 8) out = out.split(value).join('***')
  }
  return out
}
