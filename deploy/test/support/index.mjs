// Helpers for suites, benchmarks and drills in other packages (`@pg-ha/deploy/testing`): a lab
// cluster of a suite's own, the operator's view of it, and direct write probes on every node.
export {
  clusterStatus,
  jsonLines,
  labFault,
  nodeDsn,
  nodePort,
  parseDatabaseUrl,
  primaryOf,
  psql,
  startLabCluster,
  stopLabCluster,
  superuserSql,
  switchover,
  vmOf,
  writeLabInventory,
} from './lab-cluster.mjs'
export { PROBE_TABLE, overlapFrom, startWriteProbes } from './write-probes.mjs'
export { sshLabVars } from './ssh-lab-inventory.mjs'
/** @typedef {import('./lab-cluster.mjs').LabCluster} LabCluster */
/** @typedef {import('./lab-cluster.mjs').NodeStatus} NodeStatus */
