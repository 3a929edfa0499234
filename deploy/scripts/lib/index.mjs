// What other packages may use of the cluster scripts (`@pg-ha/deploy/cluster`): an inventory's
// context (transport, runtime), the monitor's view judged, and the CLI conventions.
export { loadClusterContext, redact } from './cluster-context.mjs'
export { assessCluster, CAN_TAKE_WRITES, roleOf } from './cluster-health.mjs'
export { InputError, exitCodeFor, exitOn, failureSummary } from '../../lib/errors.mjs'
export { PROFILE_NAMES, fencingTerms } from './failover-profiles.mjs'
export { loadInventory } from './inventory.mjs'
export { labOfInventory } from './inventory-lab.mjs'
export { parseOptions, tcpPortOption } from '../../lib/cli-options.mjs'
export { ensureRoot } from '../../lib/ensure-packages.mjs'
export { waitFor } from '../../lib/wait-for.mjs'

/**
 * @typedef {import('./cluster-context.mjs').ClusterContext} ClusterContext
 * @typedef {import('./inventory.mjs').Inventory} Inventory
 * @typedef {import('./inventory.mjs').InventoryHost} InventoryHost
 * @typedef {import('./runtimes/pg-autoctl-core.mjs').MonitorNode} MonitorNode
 */
