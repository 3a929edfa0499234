// The lab's declared API (`@pg-ha/deploy/lab`): VMs as network namespaces, and the faults they take.
export { findVm, resolveLabConfig, DEFAULT_LAB_NAME, DEFAULT_LAB_SUBNET } from './lab-config.mjs'
export { crashPostgres, heal, isolate, labDown, labStatus, labUp, partition, powerOff, restart } from './lab.mjs'
export { FAULTS, FAULT_NAMES, injectFault, isFaultName } from './faults.mjs'
export { labSshPaths, startLabSshd } from './sshd.mjs'
/** @typedef {import('./faults.mjs').FaultName} FaultName */
/** @typedef {import('./lab.mjs').Lab} Lab */
/** @typedef {import('./lab-config.mjs').LabVm} LabVm */
