// One lab cluster for every lab file of the API suite (they fault it, so one file at a time),
// migrated with the same `db:migrate` an operator runs.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'
import { startLabCluster, stopLabCluster, type LabCluster } from './lab-cluster.js'

const LAB_NAME = 'pghta'
const LAB_SUBNET = '10.213.48.0/24'
const run = promisify(execFile)

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
  const apiDir = path.resolve(import.meta.dirname, '../..')
  await run(process.execPath, ['--import', 'tsx', 'src/db/migrate-cli.ts'], {
    cwd: apiDir,
    env: { PATH: process.env.PATH, DATABASE_URL: cluster.databaseUrl },
  })
  project.provide('labCluster', cluster)
}

export async function teardown() {
  await stopLabCluster(cluster, { name: LAB_NAME, subnet: LAB_SUBNET })
}
