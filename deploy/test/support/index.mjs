// Helpers for suites and drills in other packages (`@pg-ha/deploy/testing`): a lab cluster of a
// suite's own, and direct write probes on every node.
export { parseDatabaseUrl, nodePort, psql, startLabCluster, stopLabCluster, writeLabInventory } from './lab-cluster.mjs'
export { PROBE_TABLE, overlapFrom, startWriteProbes } from './write-probes.mjs'
export { sshLabVars } from './ssh-lab-inventory.mjs'
