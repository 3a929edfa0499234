// The .env bring-up writes for the application (0600, read by the API and `turbo run dev`): the
// DSN with its password, and a retry budget that outlasts a failover under the cluster's
// profile, so that with these defaults a client sees latency, not errors, for any single-VM fault.
import { applicationDsn } from './dsn.mjs'
import { clientRetryBudgetMs } from './failover-profiles.mjs'

/** Every key bring-up writes (lab-down removes a file with nothing else in it). */
export const BRINGUP_ENV_KEYS = ['DATABASE_URL', 'DB_RETRY_BUDGET_MS', 'PGHA_INVENTORY']

/**
 * @param {import('./inventory.mjs').Inventory} inventory a parsed inventory
 * @param {string} password the application user's password
 */
export function bringupEnvText(inventory, password) {
  const budgetMs = clientRetryBudgetMs(inventory.failover, { connectTimeoutS: inventory.connectTimeout, hosts: inventory.nodes.length })
  return [
    '# Written by deploy/scripts/bringup.mjs; holds a password: keep it 0600 and out of git.',
    `DATABASE_URL='${applicationDsn(inventory, { password }).uri}'`,
    `# Outlasts a failover under the "${inventory.profile}" profile (failover-profiles.mjs clientRetryBudgetMs).`,
    `DB_RETRY_BUDGET_MS=${budgetMs}`,
    `PGHA_INVENTORY='${inventory.file}'`,
    '',
  ].join('\n')
}
