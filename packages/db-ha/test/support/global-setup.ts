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

let cluster: LabCluster | undefined

export async function setup(project: TestProject) {
  cluster = await startLabCluster(LAB_NAME, LAB_SUBNET)
  project.provide('labCluster', cluster)
}

export async function teardown() {
  await stopLabCluster(cluster, LAB_NAME)
}
