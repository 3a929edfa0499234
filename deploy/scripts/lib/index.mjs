// What other packages may use of the cluster scripts (`@pg-ha/deploy/cluster`): an inventory's
// context (transport, runtime), the monitor's view judged, and the CLI conventions.
export { loadClusterContext, redact } from './cluster-context.mjs'
export { assessCluster, CAN_TAKE_WRITES, roleOf } from './cluster-health.mjs'
export { InputError, exitCodeFor } from './errors.mjs'
export { PROFILE_NAMES } from './failover-profiles.mjs'
export { labOfInventory } from './inventory-lab.mjs'
export { parseOptions, tcpPortOption } from './cli-options.mjs'
export { ensureRoot } from './ensure-packages.mjs'
export { waitFor } from './wait-for.mjs'
