// What every cluster script starts with: a validated inventory, its secrets, and the
// transport and runtime it names. Nothing here touches a host.
import { InputError } from '../../lib/errors.mjs'
import { ensureSecrets } from './secrets.mjs'
import { loadInventory } from './inventory.mjs'
import { createTransport } from './transports/index.mjs'
import { createRuntime } from './runtimes/index.mjs'
import { assumeFreshCluster, createRecordingTransport } from './dry-run.mjs'

/**
 * How a script treats `<inventory>.secrets.yml`. Only bring-up creates it. add-node and rejoin
 * put the cluster's passwords on hosts, so they must be the running cluster's: new ones would
 * rotate the replicator's password on the primary under the standbys. Every other script needs
 * none of them and writes nothing (missing ones exist in memory only).
 * @typedef {'create' | 'require' | 'optional'} SecretsUse
 */

/**
 * What loadClusterContext resolves to.
 * @typedef {object} ClusterContext
 * @property {import('./inventory.mjs').Inventory} inventory validated, with the overrides applied
 * @property {Record<string, string>} secrets the secrets file's map (monitor_password, replication_password, app_password)
 * @property {string[]} secretsCreated the secrets generated now (written only when the script creates the file)
 * @property {string} secretsFile `<inventory>.secrets.yml`
 * @property {import('./transports/transport.mjs').Transport} transport the inventory's, or with dryRun the recorder in front of it
 * @property {import('./runtimes/runtime.mjs').Runtime} runtime the inventory's, on that transport
 * @property {boolean} dryRun
 */

/**
 * @param {string} inventoryFile
 * @param {{ssl?: string, extraVars?: Record<string, unknown>, dryRun?: boolean, secrets?: SecretsUse}} [overrides] explicit
 *   options win over the inventory; dryRun: record commands instead of running them (see dry-run.mjs), write no file
 * @returns {Promise<ClusterContext>}
 */
export async function loadClusterContext(inventoryFile, { ssl, extraVars, dryRun = false, secrets: secretsUse = 'optional' } = {}) {
  const inventory = await loadInventory(inventoryFile, { extraVars })
  if (ssl !== undefined) inventory.ssl = ssl
  const { secrets, created, file: secretsFile } = await ensureSecrets(inventory.file, { write: secretsUse === 'create' && !dryRun })
  if (secretsUse === 'require' && created.length > 0) {
    throw new InputError(
      `${created.join(', ')} missing: this script puts the running cluster's passwords on hosts, ` +
        'so it needs the secrets file the bring-up of this cluster wrote (copy it beside the inventory)',
      { file: secretsFile },
    )
  }
  const real = createTransport(inventory, { dryRun })
  const transport = dryRun ? createRecordingTransport({ real }) : real
  const runtime = createRuntime(inventory, transport, secrets)
  return {
    inventory,
    secrets,
    secretsCreated: created,
    secretsFile,
    transport,
    runtime: dryRun ? assumeFreshCluster(runtime) : runtime,
    dryRun,
  }
}

/**
 * Replaces every secret value in a text, so errors and logs can never show one.
 * @param {unknown} text @param {Record<string, unknown> | undefined} secrets
 */
export function redact(text, secrets) {
  let out = String(text)
  for (const value of Object.values(secrets ?? {})) {
    if (typeof value === 'string' && value.length >= 8) out = out.split(value).join('***')
  }
  return out
}
