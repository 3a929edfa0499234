// ssl: ca from nothing: bring-up generates the cluster CA beside the inventory and a certificate per
// host address; applications (libpq through the printed DSN), keepers (to the monitor) and
// standbys (to the primary) all connect with sslmode=verify-full, and a server name the
// certificate does not carry is refused. A replaced CA: a re-run re-signs every certificate and
// the running servers serve them after a reload.
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { findVm } from '../../lab/lab-config.mjs'
import { vmCommand } from '../../lab/vm-exec.mjs'
import { ensureCa, caFilesFor } from '../../scripts/lib/pki.mjs'
import {
  clusterStatus,
  jsonLines,
  nodePort,
  parseDatabaseUrl,
  primaryOf,
  psql,
  startLabCluster,
  stopLabCluster,
  superuserSql,
} from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'
import { waitFor } from '../../lib/wait-for.mjs'

const LAB = { name: 'pghtls', subnet: '10.213.66.0/24' }
/** @type {import('../support/lab-cluster.mjs').LabCluster} */
let cluster
/** The CA on this machine, as the DSN names it. */
let caFile = ''

beforeAll(async () => {
  cluster = await startLabCluster({ ...LAB, vars: { ssl: 'ca' } })
  caFile = parseDatabaseUrl(cluster.databaseUrl).params.sslrootcert ?? ''
  process.stdout.write(`bring-up with ssl: ca from nothing: ${(cluster.bringupMs / 1000).toFixed(1)} s\n`)
})
afterAll(async () => {
  await stopLabCluster(cluster, LAB)
})

/** A keyword DSN to one node, as the application user, with the given TLS keywords. @param {string} address @param {string} tls */
function keywordDsn(address, tls) {
  const { dbname, user, password } = parseDatabaseUrl(cluster.databaseUrl)
  return `port=${nodePort(cluster.databaseUrl, address)} dbname=${dbname} user=${user} password=${password} connect_timeout=3 ${tls}`
}

describe('bring-up with ssl: ca', () => {
  it('generates the CA beside the inventory and signs one certificate per host address before creating anything', async () => {
    expect(caFile).toBe(path.join(cluster.inventory.dir, 'inventory.pki', 'ca.crt'))
    expect((await fs.stat(path.join(cluster.inventory.dir, 'inventory.pki', 'ca.key'))).mode & 0o777).toBe(0o600)
    const steps = jsonLines(cluster.bringup.stdout).filter((r) => r.event === 'step')
    const names = steps.map((s) => `${s.step}${s.host ? ` [${s.host}]` : ''}`)
    expect(names.filter((n) => n.startsWith('TLS'))).toEqual([
      'TLS CA',
      'TLS certificate [vm3-monitor]',
      'TLS certificate [vm1]',
      'TLS certificate [vm2]',
    ])
    expect(names.indexOf('TLS certificate [vm2]')).toBeLessThan(names.indexOf('monitor: create [vm3-monitor]'))
    // No key material in bring-up's output.
    expect(cluster.bringup.stdout + cluster.bringup.stderr).not.toMatch(/PRIVATE KEY/)
  })

  it('prints a DSN with verify-full and the CA on this machine', () => {
    const { params } = parseDatabaseUrl(cluster.databaseUrl)
    expect(params.sslmode).toBe('verify-full')
    expect(path.isAbsolute(caFile)).toBe(true)
  })

  it('connects through the DSN with verify-full (libpq) over TLS, to the primary', async () => {
    const out = await psql(
      cluster.databaseUrl,
      'select ssl::text || pg_is_in_recovery()::text from pg_stat_ssl where pid = pg_backend_pid()',
    )
    expect(out.stderr).toBe('')
    expect(out.stdout).toBe('truefalse')
  })

  it('refuses a server name the certificate does not carry, and accepts the address it does', async () => {
    const primary = await primaryOf(cluster)
    const tls = `sslmode=verify-full sslrootcert=${caFile}`
    const wrong = await psql(keywordDsn(primary.host, `host=wrong-name.invalid hostaddr=${primary.host} ${tls}`), 'select 1')
    expect(wrong.ok).toBe(false)
    expect(wrong.stderr).toMatch(
      /server certificate for "[^"]+" (\(and \d+ other names?\) )?does not match host name "wrong-name\.invalid"/,
    )
    const right = await psql(keywordDsn(primary.host, `host=${primary.host} hostaddr=${primary.host} ${tls}`), 'select 1')
    expect(right.stderr).toBe('')
    expect(right.stdout).toBe('1')
  })

  it('refuses the servers against a CA that is not the cluster one', async () => {
    const other = caFilesFor(path.join(cluster.inventory.dir, 'other.yml'))
    await ensureCa(other)
    const out = await psql(
      keywordDsn(cluster.addresses[0] ?? '', `host=${cluster.addresses[0]} sslmode=verify-full sslrootcert=${other.caCertFile}`),
      'select 1',
    )
    expect(out.ok).toBe(false)
    expect(out.stderr).toMatch(/certificate verify failed/)
  })

  it('has the keepers reach the monitor with verify-full, and the standbys stream from the primary with verify-full', async () => {
    const status = await clusterStatus(cluster)
    expect(status.healthy).toBe(true)
    expect(status.nodes.map((n) => n.role).sort()).toEqual(['primary', 'secondary', 'secondary'])

    // What a keeper does: its monitor URI (verify-full, the CA on its host), with its passfile.
    const vm1 = findVm(cluster.lab, 'vm1')
    const uri = (
      await $({
        quiet: true,
      })`${vmCommand(vm1, ['pg_autoctl', 'config', 'get', '--pgdata', '/var/lib/postgresql/pgaf/node', 'pg_autoctl.monitor'], { user: 'postgres', env: { PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin' } })}`
    ).stdout.trim()
    expect(uri).toContain('sslmode=verify-full&sslrootcert=/var/lib/postgresql/.pgha/tls/ca.crt')
    const viaKeeper = await $({
      quiet: true,
      nothrow: true,
    })`${vmCommand(vm1, ['psql', uri, '-X', '-At', '-c', 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'], { user: 'postgres', env: { PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin' } })}`
    expect(viaKeeper.stderr.trim()).toBe('')
    expect(viaKeeper.stdout.trim()).toBe('t')

    const primary = await primaryOf(cluster)
    const primaryVm = cluster.lab.vms.find((vm) => vm.address === primary.host)?.vm ?? ''
    const streaming = await superuserSql(
      cluster,
      primaryVm,
      "select count(*) from pg_stat_replication r join pg_stat_ssl s using (pid) where s.ssl and r.application_name like 'pgautofailover_standby_%'",
    )
    expect(streaming).toBe('2')
    const standby = status.nodes.find((n) => n.role === 'secondary')
    const standbyVm = cluster.lab.vms.find((vm) => vm.address === standby?.host)?.vm ?? ''
    const conninfo = await superuserSql(cluster, standbyVm, 'show primary_conninfo')
    expect(conninfo).toMatch(/sslmode=verify-full/)
    expect(conninfo).toMatch(/sslrootcert=\/var\/lib\/postgresql\/\.pgha\/tls\/ca\.crt/)
  })

  it('changes nothing when run again: the CA and the certificates are reused', async () => {
    const again = await runScript('scripts/bringup.mjs', [
      '--inventory',
      cluster.inventory.file,
      '--env-output',
      cluster.inventory.envFile,
      '--json',
    ])
    expect(again.stderr).toBe('')
    expect(again.code).toBe(0)
    const records = jsonLines(again.stdout)
    expect(records.filter((r) => r.event === 'step' && r.status !== 'ok')).toEqual([])
    expect(records.filter((r) => r.event === 'step' && r.step === 'TLS certificate').map((r) => r.detail)).toEqual([
      expect.stringMatching(/up to date/),
      expect.stringMatching(/up to date/),
      expect.stringMatching(/up to date/),
    ])
  })

  it('re-signs every certificate after the CA is replaced, and the servers serve them without a restart', async () => {
    const pki = path.join(cluster.inventory.dir, 'inventory.pki')
    const oldCa = path.join(cluster.inventory.dir, 'old-ca.crt')
    await fs.rename(path.join(pki, 'ca.crt'), oldCa)
    await fs.rm(path.join(pki, 'ca.key'))
    const rotated = await runScript('scripts/bringup.mjs', [
      '--inventory',
      cluster.inventory.file,
      '--env-output',
      cluster.inventory.envFile,
      '--json',
    ])
    expect(rotated.stderr).toBe('')
    expect(rotated.code).toBe(0)
    const steps = jsonLines(rotated.stdout).filter((r) => r.event === 'step' && r.step.startsWith('TLS'))
    expect(steps.map((r) => r.status)).toEqual(['changed', 'changed', 'changed', 'changed'])
    // The DSN is the same (the same path); the new CA is trusted, the old one no longer.
    const out = await psql(cluster.databaseUrl, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()')
    expect(out.stderr).toBe('')
    expect(out.stdout).toBe('t')
    const address = cluster.addresses[0] ?? ''
    const old = await psql(keywordDsn(address, `host=${address} sslmode=verify-full sslrootcert=${oldCa}`), 'select 1')
    expect(old.ok).toBe(false)
    expect(old.stderr).toMatch(/certificate verify failed/)
    await waitFor(async () => (await clusterStatus(cluster)).healthy, {
      timeoutMs: 60_000,
      what: 'the cluster healthy after the CA rotation',
    })
  })
})
