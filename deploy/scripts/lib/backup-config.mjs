// pgBackRest for a cluster: the inventory's optional `backup` settings, validated, and the
// configuration files they render on each host.
//
// One repository host (the `backup` group) runs the backups; every data node pushes its WAL to
// it. They talk pgBackRest's TLS protocol (`pgbackrest server`, port backup_tls_port), each side
// proving itself with a certificate of the cluster's CA (pki.mjs), so no password exists at all.
// Everything lives under BACKUP_DIR, in the Postgres user's home: each host has its own files
// there (real VMs, and the lab's VMs, whose home directory is private), the commands name their
// configuration with --config, and no file outside that directory is needed.
//   node.conf  on every data node: its Postgres, where the repository is, the TLS server
//   repo.conf  on the repository host: the repository, retention, every data node, the TLS server
// A host that is both (VM3 in the lab) runs one server, started with repo.conf; clients name
// the file the server loads for them (repo1-host-config, pgN-host-config).
import { z } from 'zod'
import { InputError } from '../../lib/errors.mjs'

export const BACKUP_DIR = '/var/lib/postgresql/.pgha/pgbackrest'
export const BACKUP_FILES = Object.freeze({
  dir: BACKUP_DIR,
  nodeConf: `${BACKUP_DIR}/node.conf`,
  repoConf: `${BACKUP_DIR}/repo.conf`,
  tlsDir: `${BACKUP_DIR}/tls`,
  ca: `${BACKUP_DIR}/tls/ca.crt`,
  cert: `${BACKUP_DIR}/tls/host.crt`,
  key: `${BACKUP_DIR}/tls/host.key`,
  logDir: `${BACKUP_DIR}/log`,
  lockDir: `${BACKUP_DIR}/lock`,
  spoolDir: `${BACKUP_DIR}/spool`,
})
/**
 * archive_timeout: a quiet primary still closes and archives its WAL segment this often, so the
 * newest writes are recoverable within about this many seconds even when nothing else happens.
 */
export const ARCHIVE_TIMEOUT = '60s'
/** archive-push's io-timeout (s): a repository that answers at all answers within it. */
export const ARCHIVE_PUSH_IO_TIMEOUT_S = 5
/** The repository host's io-timeout (s): no progress for this long on a LAN means the peer is gone. */
export const REPO_IO_TIMEOUT_S = 10
/** The service running `pgbackrest server` on each backup host. */
export const BACKUP_SERVICE = 'pgbackrest-server'

const size = z.string({ error: 'must be a size such as 1GB' }).regex(/^\d+(KB|MB|GB|TB)?$/i, 'must be a size such as 512MB or 1GB')
const count = (/** @type {number} */ max) =>
  z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, `must be 1-${max}`).max(max, `must be 1-${max}`)
const s3Word = z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9_.:/-]+$/, 'must be letters, digits or _.:/-')

// repo1-s3-* settings, passed through (the names are pgBackRest's, without the prefix). The keys
// themselves never go into the inventory: `shared` reads them from the secrets file.
const s3Repo = z
  .object({
    bucket: s3Word,
    endpoint: s3Word,
    region: s3Word,
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9_./-]*$/, 'must be an absolute path in the bucket')
      .default('/pgbackrest'),
    uri_style: z.enum(['host', 'path'], { error: 'must be host or path' }).default('host'),
    verify_tls: z.boolean({ error: 'must be true or false' }).default(true),
    key_type: z
      .enum(['shared', 'auto'], { error: 'must be shared (keys in the secrets file) or auto (the instance role)' })
      .default('shared'),
  })
  .strict()

export const backupVars = z.object({
  backup_stanza: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must be a stanza name (lowercase letters, digits, _ or -)')
    .optional(),
  backup_retention_full: count(100).default(2),
  backup_retention_diff: count(100).optional(),
  backup_tls_port: z.coerce
    .number({ error: 'must be a TCP port' })
    .int('must be an integer')
    .min(1, 'must be 1-65535')
    .max(65535, 'must be 1-65535')
    .default(8432),
  backup_repo_path: z
    .string()
    .regex(/^\/[A-Za-z0-9_./-]+$/, 'must be an absolute path')
    .default(`${BACKUP_DIR}/repo`),
  // WAL waiting for an unreachable repository is bounded: past this, pgBackRest reports the
  // segments archived and drops them (the archive then has a gap; status shows it).
  backup_archive_push_queue_max: size.default('1GB'),
  // Archiving this far behind (the oldest segment waiting in pg_wal, in seconds) is reported by
  // status.mjs: a restore cannot reach the writes in those segments yet.
  backup_archive_lag_max_seconds: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int('must be an integer')
    .min(1, 'must be 1-604800')
    .max(604800, 'must be 1-604800')
    .default(300),
  backup_repo_s3: s3Repo.optional(),
})

/** The secrets a repository of type s3 with key_type shared needs (in `<inventory>.secrets.yml`). */
export const S3_SECRET_KEYS = ['backup_s3_key', 'backup_s3_key_secret']

/**
 * What an inventory's backup settings resolve to (the inventory's `backup`).
 * @typedef {NonNullable<import('./inventory.mjs').Inventory['backup']>} BackupSettings
 */

/**
 * The `backup` group's one host to the repository host, with the settings.
 * @template H
 * @param {{hosts: H[], vars: z.output<typeof backupVars>, formation: string, file: string, key: string}} input
 *   hosts: the group's hosts, already validated as inventory hosts; key: the group's YAML key
 */
export function resolveBackup({ hosts, vars, formation, file, key }) {
  if (hosts.length !== 1) {
    throw new InputError(`group "backup" must have exactly one host (the repository host), has ${hosts.length}`, {
      file,
      key: `${key}.hosts`,
    })
  }
  const [repoHost] = hosts
  if (repoHost === undefined) throw new InputError('group "backup" has no host', { file, key: `${key}.hosts` })
  return {
    /** The repository host: it runs the backups and holds the repository (or reaches the bucket). */
    repoHost,
    stanza: vars.backup_stanza ?? formation.replaceAll('_', '-'),
    retentionFull: vars.backup_retention_full,
    retentionDiff: vars.backup_retention_diff,
    tlsPort: vars.backup_tls_port,
    repoPath: vars.backup_repo_s3 ? vars.backup_repo_s3.path : vars.backup_repo_path,
    archivePushQueueMax: vars.backup_archive_push_queue_max,
    archivePushQueueMaxBytes: sizeBytes(vars.backup_archive_push_queue_max),
    archiveLagMaxSeconds: vars.backup_archive_lag_max_seconds,
    s3: vars.backup_repo_s3,
  }
}

/**
 * The hosts that run `pgbackrest server`, one per address: the repository host's first, then
 * each data node's.
 * @template {{address: string}} H
 * @param {{repoHost: H}} backup @param {H[]} nodes
 * @returns {H[]}
 */
export function backupServerHosts(backup, nodes) {
  return [backup.repoHost, ...nodes].filter((h, i, all) => all.findIndex((o) => o.address === h.address) === i)
}

/** A pgBackRest size ("512MB", "1GB"; its units are powers of 1024) in bytes. @param {string} size */
export function sizeBytes(size) {
  const m = /^(\d+)(KB|MB|GB|TB)?$/i.exec(size)
  if (!m) throw new InputError(`"${size}" is not a size such as 512MB or 1GB`)
  const unit = ['', 'KB', 'MB', 'GB', 'TB'].indexOf((m[2] ?? '').toUpperCase())
  return Number(m[1]) * 1024 ** unit
}

/** `key=value` lines of an ini section. @param {string} name @param {Array<[string, string | number | undefined]>} entries */
function section(name, entries) {
  return [`[${name}]`, ...entries.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`), ''].join('\n')
}

/**
 * What both files share: where pgBackRest writes, and the TLS server every backup host runs.
 * @param {BackupSettings} backup @param {{address: string}} self @param {string[]} clientNames
 * @returns {Array<[string, string | number | undefined]>}
 */
function commonGlobal(backup, self, clientNames) {
  return [
    ['log-path', BACKUP_FILES.logDir],
    ['lock-path', BACKUP_FILES.lockDir],
    ['spool-path', BACKUP_FILES.spoolDir],
    ['log-level-console', 'warn'],
    ['log-level-file', 'info'],
    ['tls-server-address', self.address],
    ['tls-server-port', backup.tlsPort],
    ['tls-server-ca-file', BACKUP_FILES.ca],
    ['tls-server-cert-file', BACKUP_FILES.cert],
    ['tls-server-key-file', BACKUP_FILES.key],
    // Only the cluster's own hosts (their certificates' common name is their address), only
    // for this stanza: one line per client, `<common name>=<stanzas>`.
    ...[...new Set(clientNames)].map((name) => /** @type {[string, string]} */ (['tls-server-auth', `${name}=${backup.stanza}`])),
  ]
}

/**
 * node.conf of a data node.
 * @param {BackupSettings} backup @param {import('./inventory.mjs').InventoryHost} node
 * @param {string[]} clientNames every backup host's certificate name (its address)
 */
export function renderNodeConf(backup, node, clientNames) {
  const repo = backup.repoHost
  return [
    '# Written by pg-ha-kit (backup.mjs --setup); pgBackRest on a data node.',
    section('global', [
      ['repo1-host', repo.address],
      ['repo1-host-type', 'tls'],
      ['repo1-host-port', backup.tlsPort],
      ['repo1-host-config', BACKUP_FILES.repoConf],
      ['repo1-host-ca-file', BACKUP_FILES.ca],
      ['repo1-host-cert-file', BACKUP_FILES.cert],
      ['repo1-host-key-file', BACKUP_FILES.key],
      ['archive-push-queue-max', backup.archivePushQueueMax],
      ...commonGlobal(backup, node, clientNames),
    ]),
    // Connection refused is retried until io-timeout (60 s by default): with the repository
    // down, each archive_command would hang that long before Postgres records the failure.
    section('global:archive-push', [['io-timeout', ARCHIVE_PUSH_IO_TIMEOUT_S]]),
    section(backup.stanza, [
      ['pg1-path', node.pgdata],
      ['pg1-port', node.port],
      ['pg1-socket-path', '/var/run/postgresql'],
    ]),
  ].join('\n')
}

/**
 * repo.conf of the repository host.
 * @param {BackupSettings} backup @param {import('./inventory.mjs').InventoryHost[]} nodes
 * @param {string[]} clientNames every backup host's certificate name (its address)
 * @param {Record<string, string>} [secrets] the cluster's secrets (s3 keys, key_type shared)
 */
export function renderRepoConf(backup, nodes, clientNames, secrets = {}) {
  const s3 = backup.s3
  /** @type {Array<[string, string | number | undefined]>} */
  let repo = [['repo1-path', backup.repoPath]]
  if (s3) {
    if (s3.key_type === 'shared') {
      const missing = S3_SECRET_KEYS.filter((k) => typeof secrets[k] !== 'string' || secrets[k] === '')
      if (missing.length > 0)
        throw new InputError(`backup_repo_s3 with key_type shared needs ${missing.join(' and ')} in the secrets file`, {
          key: 'all.vars.backup_repo_s3.key_type',
        })
    }
    repo = [
      ['repo1-type', 's3'],
      ['repo1-path', s3.path],
      ['repo1-s3-bucket', s3.bucket],
      ['repo1-s3-endpoint', s3.endpoint],
      ['repo1-s3-region', s3.region],
      ['repo1-s3-uri-style', s3.uri_style],
      ['repo1-storage-verify-tls', s3.verify_tls ? 'y' : 'n'],
      ['repo1-s3-key-type', s3.key_type],
      ...(s3.key_type === 'shared'
        ? /** @type {Array<[string, string]>} */ ([
            ['repo1-s3-key', String(secrets.backup_s3_key)],
            ['repo1-s3-key-secret', String(secrets.backup_s3_key_secret)],
          ])
        : []),
    ]
  }
  return [
    '# Written by pg-ha-kit (backup.mjs --setup); pgBackRest on the repository host. Mode 0600.',
    section('global', [
      ...repo,
      ['repo1-retention-full-type', 'count'],
      ['repo1-retention-full', backup.retentionFull],
      ['repo1-retention-diff', backup.retentionDiff],
      ['start-fast', 'y'],
      // A data node's host that is down (black-holed, not refusing) would hold every check and
      // backup for the default 60 s per connection attempt.
      ['io-timeout', REPO_IO_TIMEOUT_S],
      ['compress-type', 'lz4'],
      ...commonGlobal(backup, backup.repoHost, clientNames),
    ]),
    section(
      backup.stanza,
      nodes.flatMap((node, i) => pgIndexEntries(backup, node, i + 1)),
    ),
  ].join('\n')
}

/**
 * The repository host's settings for one data node as pgBackRest's index `n` (pg<n>-*).
 * @param {BackupSettings} backup @param {import('./inventory.mjs').InventoryHost} node @param {number} n
 * @returns {Array<[string, string | number]>}
 */
export function pgIndexEntries(backup, node, n) {
  return [
    [`pg${n}-host`, node.address],
    [`pg${n}-host-type`, 'tls'],
    [`pg${n}-host-port`, backup.tlsPort],
    [`pg${n}-host-config`, BACKUP_FILES.nodeConf],
    [`pg${n}-host-ca-file`, BACKUP_FILES.ca],
    [`pg${n}-host-cert-file`, BACKUP_FILES.cert],
    [`pg${n}-host-key-file`, BACKUP_FILES.key],
    [`pg${n}-path`, node.pgdata],
    [`pg${n}-port`, node.port],
    [`pg${n}-socket-path`, '/var/run/postgresql'],
  ]
}

/** The archive_command of every data node. @param {BackupSettings} backup */
export function archiveCommand(backup) {
  return `pgbackrest --config=${BACKUP_FILES.nodeConf} --stanza=${backup.stanza} archive-push %p`
}
