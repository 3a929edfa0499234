// One lab cluster for every integration file of this package (files run one at a time).
import type { TestProject } from 'vitest/node'
import { startLabCluster, stopLabCluster, type LabCluster } from './lab-cluster.js'

export const LAB_NAME = 'pghtd'
const LAB_SUBNET = '10.213.46.0/24'

declare module 'vitest' {
  export interface ProvidedContext {
    labCluster: LabCluster
  }
}

// Every data node on 5432 (the monitor moves to 5431 on vm3): the suites name hosts as
// address:5432.
const SUITE_PORTS = { 'vm3-monitor': { pg_port: 5431 }, vm3: { pg_port: 5432 } }

let cluster: LabCluster | undefined

export async function setup(project: TestProject) {
  cluster = await startLabCluster({ name: LAB_NAME, subnet: LAB_SUBNET, hostVars: SUITE_PORTS })
  project.provide('labCluster', cluster)
}

export async function teardown() {
  await stopLabCluster(cluster, { name: LAB_NAME, subnet: LAB_SUBNET })
}
