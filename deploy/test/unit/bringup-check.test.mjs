// bringup --check on three VMs (the example's shape, test/fixtures/three-vms.yml) over ssh, with each runtime:
// the printed plan is compared with a reviewed golden file (deploy/test/golden/), and the dry
// run must leave no file behind. PGHA_UPDATE_GOLDEN=1 rewrites the golden files after a
// deliberate change; review their diff like code.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployDir, runScript } from '../support/run-script.mjs'

const threeVms = path.join(deployDir, 'test/fixtures/three-vms.yml')
const goldenDir = path.join(deployDir, 'test/golden')
const repoRoot = path.resolve(deployDir, '..')
/** @type {string} */
let dir

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-check-'))
  await fs.writeFile(path.join(dir, 'known_hosts'), '')
  await fs.writeFile(path.join(dir, 'id_ed25519'), 'not read by a dry run\n', { mode: 0o600 })
})
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/**
 * The three-VM inventory pointed at VMs over ssh as a sudo user, through ansible-runner's extravars.
 * @param {string} runtime
 */
async function privateDataDir(runtime) {
  const pdd = path.join(dir, runtime)
  await fs.mkdir(path.join(pdd, 'env'), { recursive: true })
  await fs.writeFile(
    path.join(pdd, 'env', 'extravars'),
    YAML.stringify({
      transport: 'ssh',
      runtime,
      ansible_user: 'deploy',
      ansible_ssh_private_key_file: path.join(dir, 'id_ed25519'),
      ssh_known_hosts_file: path.join(dir, 'known_hosts'),
    }),
  )
  return pdd
}

/** What varies between machines and runs: the checkout, the temporary directory, timings. @param {string} text */
const normalize = (text) =>
  text
    .replaceAll(dir, '<tmp>')
    .replaceAll(repoRoot, '<repo>')
    .replace(/^([+=!-])\s+\d+\.\ds/gm, '$1    0.0s')

describe.each(['native', 'docker'])('bringup --check, runtime %s', (runtime) => {
  it('prints the golden plan and writes nothing', async () => {
    const pdd = await privateDataDir(runtime)
    const envOutput = path.join(dir, `${runtime}.env`)
    const out = await runScript(
      'scripts/bringup.mjs',
      ['--inventory', threeVms, '--check', '--env-output', envOutput, '--private-data-dir', pdd, '--ident', 'check'],
      { timeoutMs: 30_000 },
    )
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    const plan = normalize(out.stdout)
    const golden = path.join(goldenDir, `bringup-check-${runtime}.txt`)
    if (process.env.PGHA_UPDATE_GOLDEN === '1') await fs.writeFile(golden, plan)
    expect(plan).toBe(await fs.readFile(golden, 'utf8'))

    // A dry run generates secrets in memory only, and writes no env file.
    await expect(fs.access(path.join(deployDir, 'test/fixtures/three-vms.secrets.yml'))).rejects.toThrow()
    await expect(fs.access(envOutput)).rejects.toThrow()
    expect(await fs.readFile(path.join(pdd, 'artifacts/check/status'), 'utf8')).toBe('successful')
  })
})

describe('bringup --check with ssl: ca', () => {
  it('signs a certificate per host address before anything is created, and gives pg_autoctl and the DSN verify-full', async () => {
    const doc = YAML.parse(await fs.readFile(threeVms, 'utf8'))
    doc.all.vars.ssl = 'ca'
    const inventory = path.join(dir, 'tls.yml')
    await fs.writeFile(inventory, YAML.stringify(doc))
    const envOutput = path.join(dir, 'tls.env')
    const out = await runScript('scripts/bringup.mjs', ['--inventory', inventory, '--check', '--env-output', envOutput], {
      timeoutMs: 30_000,
    })
    expect(out.stderr).toBe('')
    expect(out.code).toBe(0)
    const plan = normalize(out.stdout)
    const pki = '<tmp>/tls.pki'
    expect(plan).toContain(`TLS CA: would generate ${pki}/ca.crt and ca.key (0600)`)
    // One certificate per address: VM3's monitor and node share theirs.
    expect(plan).toContain('TLS certificate [vm3-monitor]: would sign a certificate for IP:10.0.0.13 DNS:vm3-monitor DNS:vm3')
    expect(plan).toContain('TLS certificate [vm1]: would sign a certificate for IP:10.0.0.11 DNS:vm1')
    expect(plan).toContain('TLS certificate [vm2]: would sign a certificate for IP:10.0.0.12 DNS:vm2')
    expect(plan).not.toContain('TLS certificate [vm3]:')
    // Through stdin, the local file named instead of its content.
    expect(plan).toContain(`write /var/lib/postgresql/.pgha/tls/server.key 0600 <<'EOF'\n      <${pki}/hosts/10.0.0.11.key>`)
    expect(plan).not.toMatch(/PRIVATE KEY/)
    // Before the monitor and the nodes are created.
    expect(plan.indexOf('TLS certificate [vm2]')).toBeLessThan(plan.indexOf('monitor: create'))

    const tlsOptions =
      '--ssl-ca-file /var/lib/postgresql/.pgha/tls/ca.crt --server-cert /var/lib/postgresql/.pgha/tls/server.crt --server-key /var/lib/postgresql/.pgha/tls/server.key --ssl-mode verify-full'
    expect(plan).toContain(
      `pg_autoctl create monitor --pgdata /var/lib/postgresql/pgaf/monitor --pgport 5432 --hostname 10.0.0.13 --auth scram-sha-256 ${tlsOptions}\n`,
    )
    expect(plan).toContain(
      `pg_autoctl create postgres --pgdata /var/lib/postgresql/pgaf/node --pgport 5432 --hostname 10.0.0.11 --auth scram-sha-256 ${tlsOptions} --name node1`,
    )
    expect(plan).toContain(
      "--monitor 'postgres://autoctl_node@10.0.0.13:5432/pg_auto_failover?sslmode=verify-full&sslrootcert=/var/lib/postgresql/.pgha/tls/ca.crt&keepalives=1",
    )
    expect(plan).toContain(
      `DSN (keyword): host=10.0.0.11,10.0.0.12,10.0.0.13 port=5432,5432,5433 dbname=app user=app target_session_attrs=read-write connect_timeout=3 sslmode=verify-full sslrootcert=${pki}/ca.crt\n`,
    )
    expect(plan).toContain(`&sslmode=verify-full&sslrootcert=${pki}/ca.crt\n`)

    // A dry run generates no CA, no certificate, no env file.
    await expect(fs.access(path.join(dir, 'tls.pki'))).rejects.toThrow()
    await expect(fs.access(envOutput)).rejects.toThrow()
  })
})
