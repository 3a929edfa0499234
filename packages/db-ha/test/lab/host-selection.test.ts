// The pool connects only to the host target_session_attrs asks for, wherever the primary is.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createPool } from '../../src/pool/index.js'
import { primaryOf, switchover } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const pools: ReturnType<typeof createPool>[] = []
const pool = (dsn: string) => {
  const p = createPool(dsn)
  pools.push(p)
  return p
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()))
})

async function whereAmI(p: ReturnType<typeof createPool>) {
  const { rows } = await p.query<{ addr: string; standby: boolean }>(
    'select host(inet_server_addr()) as addr, pg_is_in_recovery() as standby',
  )
  return rows[0]
}

describe('host selection', () => {
  for (const node of ['node3', 'node2', 'node1']) {
    it(`lands read-write on the primary when ${node} is primary`, async () => {
      await switchover(cluster, node)
      const primary = await primaryOf(cluster)
      expect(primary.name).toBe(node)
      const p = pool(cluster.databaseUrl)
      expect(await whereAmI(p)).toEqual({ addr: primary.host, standby: false })
      expect(p.snapshot().currentHost).toBe(`${primary.host}:5432`)
    })
  }

  it('lands prefer-standby and standby on a standby, primary on the primary', async () => {
    const primary = await primaryOf(cluster)
    const standby = await whereAmI(
      pool(cluster.databaseUrl.replace('target_session_attrs=read-write', 'target_session_attrs=prefer-standby')),
    )
    expect(standby?.standby).toBe(true)
    expect(standby?.addr).not.toBe(primary.host)
    expect(
      (await whereAmI(pool(cluster.databaseUrl.replace('target_session_attrs=read-write', 'target_session_attrs=standby'))))?.standby,
    ).toBe(true)
    expect(await whereAmI(pool(cluster.databaseUrl.replace('target_session_attrs=read-write', 'target_session_attrs=primary')))).toEqual({
      addr: primary.host,
      standby: false,
    })
  })

  it('names every host and why it was rejected when none qualifies', async () => {
    const primary = await primaryOf(cluster)
    const standbys = cluster.addresses.filter((a) => a !== primary.host).map((a) => `${a}:5432`)
    const dsn = cluster.databaseUrl.replace(/@[^/]+\//, `@${standbys.join(',')}/`)
    const p = pool(dsn)
    const error = await p.query('select 1').catch((e: unknown) => e as Error & { code?: string })
    expect(error).toBeInstanceOf(Error)
    expect((error as { code?: string }).code).toBe('DB_HA_NO_SUITABLE_HOST')
    for (const host of standbys) expect((error as Error).message).toContain(`${host} read-only`)
    expect((error as Error).message).not.toContain(cluster.password)
  })
})
