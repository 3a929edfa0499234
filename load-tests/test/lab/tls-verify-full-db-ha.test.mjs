// ssl: ca seen from the application's side: db-ha's pool, given the DSN bring-up prints
// (sslmode=verify-full, sslrootcert = the cluster CA on this machine), connects over TLS to the
// primary, checking the certificate and the name. libpq's side, the wrong name refused, keepers
// and standbys: deploy/test/lab/tls-verify-full.test.mjs.
import { createPool } from '@pg-ha/db-ha'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseDatabaseUrl, startLabCluster, stopLabCluster } from '@pg-ha/deploy/testing'

const LAB = { name: 'pghtlsd', subnet: '10.213.67.0/24' }
/** @type {import('@pg-ha/deploy/testing').LabCluster} */
let cluster
beforeAll(async () => {
  cluster = await startLabCluster({ ...LAB, vars: { ssl: 'ca' } })
})
afterAll(async () => {
  await stopLabCluster(cluster, LAB)
})

describe('db-ha on a cluster with ssl: ca', () => {
  it('connects with verify-full through the printed DSN, over TLS, to the primary', async () => {
    const { params } = parseDatabaseUrl(cluster.databaseUrl)
    expect(params.sslmode).toBe('verify-full')
    expect(params.sslrootcert).toMatch(/\/inventory\.pki\/ca\.crt$/)
    const pool = createPool({ dsn: cluster.databaseUrl, pool: { max: 2 } })
    try {
      const { rows } = await pool.query('select ssl, pg_is_in_recovery() as standby from pg_stat_ssl where pid = pg_backend_pid()')
      expect(rows).toEqual([{ ssl: true, standby: false }])
    } finally {
      await pool.end()
    }
  })

  it('refuses a server name the certificate does not carry (host=name, hostaddr=the address, as libpq)', async () => {
    const { params, user, password, dbname, hosts } = parseDatabaseUrl(cluster.databaseUrl)
    const [address = '', port = ''] = (hosts[0] ?? '').split(':')
    const dsn = `host=wrong-name.invalid hostaddr=${address} port=${port} dbname=${dbname} user=${user} password=${password} sslmode=verify-full sslrootcert=${params.sslrootcert} target_session_attrs=any`
    const pool = createPool({ dsn, pool: { max: 1 }, tuning: { connectBudgetMs: 1000 } })
    try {
      await expect(pool.query('select 1')).rejects.toThrow(/ERR_TLS_CERT_ALTNAME_INVALID/)
    } finally {
      await pool.end()
    }
  })
})
