// The inventory's backup settings (group "backup", backup_* variables) and the pgBackRest
// configuration files they render: validation names the key, defaults are pgBackRest's sensible
// ones, and the s3 passthrough (not runnable here) renders what pgBackRest documents.
import fs from 'node:fs/promises'
import path from 'node:path'
import YAML from 'yaml'
import { beforeAll, describe, expect, it } from 'vitest'
import { archiveCommand, BACKUP_FILES, renderNodeConf, renderRepoConf } from '../../scripts/lib/backup-config.mjs'
import { parseInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir } from '../support/run-script.mjs'

/** @typedef {any} InventoryDoc an inventory as YAML parses it, changed freely below */

/** @type {InventoryDoc} */
let base
beforeAll(async () => {
  base = YAML.parse(await fs.readFile(path.join(deployDir, 'test/fixtures/three-vms.yml'), 'utf8'))
  base.all.vars.lab_name = 'nolab'
  base.all.children.backup = { hosts: { 'vm3-backup': { ansible_host: '10.0.0.13', lab_vm: 'vm3' } } }
})

/** @param {(doc: InventoryDoc) => void} [mutate] */
function inventory(mutate = () => {}) {
  const doc = structuredClone(base)
  mutate(doc)
  return parseInventory(doc, '/nowhere/inv.yml')
}
/** @param {(doc: InventoryDoc) => void} mutate */
function inputError(mutate) {
  try {
    inventory(mutate)
  } catch (error) {
    return /** @type {{code: string, message: string}} */ (error)
  }
  throw new Error('the inventory was accepted')
}
/** @param {string} text @returns {Record<string, Record<string, string>>} */
function ini(text) {
  /** @type {Record<string, Record<string, string>>} */
  const out = {}
  let current = ''
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]$/.exec(line)
    if (header?.[1]) out[(current = header[1])] = {}
    else if (/^[a-z0-9-]+=/.test(line)) {
      const eq = line.indexOf('=')
      const sect = out[current]
      if (sect) sect[line.slice(0, eq)] = line.slice(eq + 1)
    }
  }
  return out
}

describe('inventory: backup settings', () => {
  it('has none without a backup group', () => {
    const doc = structuredClone(base)
    delete doc.all.children.backup
    expect(parseInventory(doc, '/nowhere/inv.yml').backup).toBeUndefined()
  })

  it('defaults: stanza from the formation, two full backups kept, TLS on 8432, repository in the home directory', () => {
    const backup = inventory().backup
    expect(backup).toMatchObject({
      stanza: 'default',
      retentionFull: 2,
      retentionDiff: undefined,
      tlsPort: 8432,
      repoPath: `${BACKUP_FILES.dir}/repo`,
      archivePushQueueMax: '1GB',
      archivePushQueueMaxBytes: 1024 ** 3,
      archiveLagMaxSeconds: 300,
      s3: undefined,
    })
    expect(backup?.repoHost).toMatchObject({ host: 'vm3-backup', address: '10.0.0.13', role: 'backup', labVm: 'vm3' })
  })

  it.each([
    [
      'two repository hosts',
      (/** @type {InventoryDoc} */ d) => (d.all.children.backup.hosts.other = { ansible_host: '10.0.0.14', lab_vm: 'vm4' }),
      /backup\.hosts: group "backup" must have exactly one host/,
    ],
    [
      'retention 0',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_retention_full = 0),
      /backup\.vars\.backup_retention_full: must be 1-100/,
    ],
    ['a port out of range', (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_tls_port = 70000), /backup_tls_port: must be 1-65535/],
    ['a bad stanza', (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_stanza = 'My Stanza'), /backup_stanza: must be a stanza name/],
    [
      'a bad queue size',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_archive_push_queue_max = 'lots'),
      /backup_archive_push_queue_max: must be a size/,
    ],
    [
      'an archive lag bound of 0',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_archive_lag_max_seconds = 0),
      /backup_archive_lag_max_seconds: must be 1-604800/,
    ],
    [
      'a relative repository path',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_repo_path = 'repo'),
      /backup_repo_path: must be an absolute path/,
    ],
    [
      'an unknown s3 key',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_repo_s3 = { bucket: 'b', endpoint: 'e', region: 'r', secret: 'x' }),
      /backup\.vars\.backup_repo_s3/,
    ],
    [
      'an s3 repository without a bucket',
      (/** @type {InventoryDoc} */ d) => (d.all.vars.backup_repo_s3 = { endpoint: 'e', region: 'r' }),
      /backup_repo_s3\.bucket: must be a string/,
    ],
    [
      'a repository host without an address',
      (/** @type {InventoryDoc} */ d) => delete d.all.children.backup.hosts['vm3-backup'].ansible_host,
      /backup\.hosts\.vm3-backup\.ansible_host: is required/,
    ],
    [
      'a repository host outside the network',
      (/** @type {InventoryDoc} */ d) => (d.all.children.backup.hosts['vm3-backup'].ansible_host = '10.9.0.13'),
      /vm3-backup\.ansible_host: 10\.9\.0\.13 is outside network_cidr/,
    ],
    [
      'runtime docker',
      (/** @type {InventoryDoc} */ d) => {
        d.all.vars.runtime = 'docker'
        for (const h of Object.values(d.all.children.nodes.hosts)) delete (/** @type {any} */ (h).pgdata)
      },
      /backup.*need runtime "native"/,
    ],
  ])('refuses %s with an InputError naming the key', (_, mutate, message) => {
    const error = inputError(mutate)
    expect(error.code).toBe('INPUT_INVALID')
    expect(error.message).toMatch(message)
  })
})

describe('rendered pgBackRest configuration', () => {
  const clients = ['10.0.0.11', '10.0.0.12', '10.0.0.13']

  it('node.conf: the repository over TLS, its own Postgres, WAL queue bounded', () => {
    const inv = inventory()
    if (!inv.backup) throw new Error('no backup settings')
    const node2 = inv.nodes[1]
    if (!node2) throw new Error('no node2')
    const conf = ini(renderNodeConf(inv.backup, node2, clients))
    expect(conf.global).toMatchObject({
      'repo1-host': '10.0.0.13',
      'repo1-host-type': 'tls',
      'repo1-host-port': '8432',
      'repo1-host-config': BACKUP_FILES.repoConf,
      'repo1-host-cert-file': BACKUP_FILES.cert,
      'tls-server-address': node2.address,
      'archive-push-queue-max': '1GB',
      'lock-path': BACKUP_FILES.lockDir,
    })
    // One line per client: pgBackRest reads `<common name>=<stanzas>`.
    const auth = renderNodeConf(inv.backup, node2, clients)
      .split('\n')
      .filter((l) => l.startsWith('tls-server-auth='))
    expect(auth).toEqual(['tls-server-auth=10.0.0.11=default', 'tls-server-auth=10.0.0.12=default', 'tls-server-auth=10.0.0.13=default'])
    expect(conf['global:archive-push']).toEqual({ 'io-timeout': '5' })
    expect(conf.default).toEqual({ 'pg1-path': node2.pgdata, 'pg1-port': String(node2.port), 'pg1-socket-path': '/var/run/postgresql' })
    expect(conf.global?.['repo1-path']).toBeUndefined()
  })

  it('repo.conf: a local repository with retention, every data node over TLS', () => {
    const inv = inventory((d) => {
      d.all.vars.backup_retention_full = 3
      d.all.vars.backup_retention_diff = 6
    })
    if (!inv.backup) throw new Error('no backup settings')
    const conf = ini(renderRepoConf(inv.backup, inv.nodes, clients))
    expect(conf.global).toMatchObject({
      'repo1-path': `${BACKUP_FILES.dir}/repo`,
      'repo1-retention-full': '3',
      'repo1-retention-diff': '6',
      'tls-server-address': '10.0.0.13',
      'io-timeout': '10',
    })
    expect(conf.global?.['repo1-type']).toBeUndefined()
    for (const [i, node] of inv.nodes.entries()) {
      expect(conf.default).toMatchObject({
        [`pg${i + 1}-host`]: node.address,
        [`pg${i + 1}-host-type`]: 'tls',
        [`pg${i + 1}-host-config`]: BACKUP_FILES.nodeConf,
        [`pg${i + 1}-path`]: node.pgdata,
        [`pg${i + 1}-port`]: String(node.port),
      })
    }
  })

  it('repo.conf with backup_repo_s3: repo1-type s3 and its settings; shared keys come from the secrets only', () => {
    const inv = inventory((d) => {
      d.all.vars.backup_repo_s3 = { bucket: 'pgha-backups', endpoint: 's3.eu-west-1.amazonaws.com', region: 'eu-west-1' }
    })
    if (!inv.backup) throw new Error('no backup settings')
    expect(() => renderRepoConf(/** @type {any} */ (inv.backup), inv.nodes, clients, {})).toThrow(
      /key_type: backup_repo_s3 with key_type shared needs backup_s3_key and backup_s3_key_secret in the secrets file/,
    )
    const secrets = { backup_s3_key: 'AKIAEXAMPLEKEY123456', backup_s3_key_secret: 'secret-value-not-in-the-inventory' }
    const conf = ini(renderRepoConf(inv.backup, inv.nodes, clients, secrets))
    expect(conf.global).toMatchObject({
      'repo1-type': 's3',
      'repo1-path': '/pgbackrest',
      'repo1-s3-bucket': 'pgha-backups',
      'repo1-s3-endpoint': 's3.eu-west-1.amazonaws.com',
      'repo1-s3-region': 'eu-west-1',
      'repo1-s3-uri-style': 'host',
      'repo1-storage-verify-tls': 'y',
      'repo1-s3-key-type': 'shared',
      'repo1-s3-key': secrets.backup_s3_key,
      'repo1-s3-key-secret': secrets.backup_s3_key_secret,
    })
    const auto = inventory((d) => {
      d.all.vars.backup_repo_s3 = { bucket: 'b', endpoint: 'e.example', region: 'r', key_type: 'auto', uri_style: 'path' }
    })
    if (!auto.backup) throw new Error('no backup settings')
    const autoConf = ini(renderRepoConf(auto.backup, auto.nodes, clients))
    expect(autoConf.global).toMatchObject({ 'repo1-s3-key-type': 'auto', 'repo1-s3-uri-style': 'path' })
    expect(autoConf.global?.['repo1-s3-key']).toBeUndefined()
  })

  it('archive_command names the node configuration and the stanza', () => {
    const inv = inventory((d) => (d.all.vars.backup_stanza = 'app-main'))
    if (!inv.backup) throw new Error('no backup settings')
    expect(archiveCommand(inv.backup)).toBe(`pgbackrest --config=${BACKUP_FILES.nodeConf} --stanza=app-main archive-push %p`)
  })
})
