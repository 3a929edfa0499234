// `ssl: ca`: a certificate authority on the machine that runs bring-up and, per host address, a
// server certificate signed by it, so that applications and keepers connect with
// sslmode=verify-full (the server proves it is the address they asked for).
//
// Layout on this machine, beside the inventory (never committed, like the secrets file):
//   <inventory>.pki/ca.crt, ca.key (0600)           the CA bring-up generates, unless the
//                                                    inventory names one (ssl_ca_cert_file, ssl_ca_key_file)
//   <inventory>.pki/hosts/<address>.crt, .key (0600) one per host address, signed by the CA, with
//                                                    subjectAltName IP:<address> and DNS:<inventory host names>
// Every file is reused as long as it still fits: a server certificate is replaced when its CA,
// its names or its key no longer match, or when it expires within 30 days. On each host the
// three files a server needs live in HOST_TLS_DIR, written through the transport's stdin.
// openssl does the cryptography; no key ever reaches a command line or a log.
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { errorCode } from '../../lib/error-message.mjs'
import { InputError } from '../../lib/errors.mjs'

const run = promisify(execFile)

/** Where a native host keeps its server certificate, key and the CA (the Postgres user's home). */
export const HOST_TLS_DIR = '/var/lib/postgresql/.pgha/tls'
export const HOST_TLS_FILES = tlsFilesIn(HOST_TLS_DIR)
/**
 * Runtime docker: the compose project's `tls/` directory is mounted read-only on
 * CONTAINER_TLS_MOUNT, and the container's command copies the files to CONTAINER_TLS_FILES (on
 * its volume, owned by the image's user, 0600), where Postgres and pg_autoctl read them.
 */
export const CONTAINER_TLS_MOUNT = '/etc/pgha-tls'
export const CONTAINER_TLS_FILES = tlsFilesIn('/var/lib/postgres/.pgha/tls')

/** @param {string} dir */
function tlsFilesIn(dir) {
  return Object.freeze({ dir, ca: `${dir}/ca.crt`, cert: `${dir}/server.crt`, key: `${dir}/server.key` })
}

/** Where pg_autoctl and Postgres read the TLS files under a runtime. @param {string} runtime */
export function tlsFilesFor(runtime) {
  return runtime === 'docker' ? CONTAINER_TLS_FILES : HOST_TLS_FILES
}

const CA_DAYS = 3650
const SERVER_DAYS = 825
// A server certificate expiring sooner than this is renewed by the next bring-up.
const RENEW_BEFORE_SECONDS = 30 * 24 * 3600

/** `<dir>/<name>.pki` for `<dir>/<name>.yml`. @param {string} inventoryFile */
export function pkiDirFor(inventoryFile) {
  const { dir, name } = path.parse(path.resolve(inventoryFile))
  return path.join(dir, `${name}.pki`)
}

/**
 * The CA files of an inventory: the user's (both named in the inventory) or the generated ones.
 * @param {string} inventoryFile @param {{caCertFile?: string, caKeyFile?: string}} [supplied] absolute paths
 * @returns {{dir: string, caCertFile: string, caKeyFile: string, supplied: boolean}}
 */
export function caFilesFor(inventoryFile, supplied = {}) {
  const dir = pkiDirFor(inventoryFile)
  if (supplied.caCertFile && supplied.caKeyFile)
    return { dir, caCertFile: supplied.caCertFile, caKeyFile: supplied.caKeyFile, supplied: true }
  return { dir, caCertFile: path.join(dir, 'ca.crt'), caKeyFile: path.join(dir, 'ca.key'), supplied: false }
}

/** @param {string} file */
async function exists(file) {
  try {
    await fs.access(file)
    return true
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false
    throw error
  }
}

/**
 * The CA: a supplied one must exist and be a certificate; a generated one is created once
 * (ca.key 0600, in a 0700 directory) and reused after.
 * @param {{caCertFile: string, caKeyFile: string, supplied: boolean, dir: string}} files @param {{write?: boolean, name?: string}} [options]
 *   write: false only says what it would do (--check); name: the CA's common name
 * @returns {Promise<{created: boolean}>}
 */
export async function ensureCa(files, { write = true, name = 'pg-ha-kit cluster CA' } = {}) {
  const [certThere, keyThere] = await Promise.all([exists(files.caCertFile), exists(files.caKeyFile)])
  if (files.supplied) {
    for (const [file, there, key] of /** @type {const} */ ([
      [files.caCertFile, certThere, 'ssl_ca_cert_file'],
      [files.caKeyFile, keyThere, 'ssl_ca_key_file'],
    ])) {
      if (!there) throw new InputError(`${file} does not exist`, { key: `all.vars.${key}` })
    }
    await openssl(['x509', '-noout', '-in', files.caCertFile]).catch(() => {
      throw new InputError(`${files.caCertFile} is not a PEM certificate`, { key: 'all.vars.ssl_ca_cert_file' })
    })
    return { created: false }
  }
  if (certThere && keyThere) {
    await fs.chmod(files.caKeyFile, 0o600)
    return { created: false }
  }
  if (certThere !== keyThere) {
    throw new InputError(
      `has ${certThere ? 'ca.crt but no ca.key' : 'ca.key but no ca.crt'}: restore the missing file, or remove both for a new CA`,
      {
        file: files.dir,
      },
    )
  }
  if (!write) return { created: true }
  await fs.mkdir(files.dir, { recursive: true, mode: 0o700 })
  const tmpKey = `${files.caKeyFile}.${process.pid}.tmp`
  const tmpCert = `${files.caCertFile}.${process.pid}.tmp`
  try {
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', tmpKey])
    await fs.chmod(tmpKey, 0o600)
    await openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      tmpKey,
      '-sha256',
      '-days',
      String(CA_DAYS),
      '-subj',
      `/CN=${name.replace(/[/=]/g, ' ')}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      tmpCert,
    ])
    await fs.rename(tmpKey, files.caKeyFile)
    await fs.rename(tmpCert, files.caCertFile)
  } finally {
    await fs.rm(tmpKey, { force: true })
    await fs.rm(tmpCert, { force: true })
  }
  return { created: true }
}

/**
 * The subjectAltName a host's certificate carries: its address, and the inventory's names for it.
 * @param {string} address @param {string[]} dnsNames
 */
export function wantedSan(address, dnsNames) {
  return [
    `IP:${address}`,
    ...[...new Set(dnsNames)].filter((n) => /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n)).map((n) => `DNS:${n}`),
  ]
}

/**
 * The subjectAltName entries of a certificate, as IP:a.b.c.d and DNS:name.
 * @param {string} certFile @returns {Promise<string[]>}
 */
export async function certSan(certFile) {
  const { stdout } = await openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', certFile])
  const line = stdout.split('\n').slice(1).join(' ').trim()
  if (!line) return []
  return line.split(/,\s*/).map((entry) => entry.trim().replace(/^IP Address:/, 'IP:'))
}

/**
 * Whether a host's certificate still fits: signed by the CA, the wanted names exactly, its own key,
 * valid for more than RENEW_BEFORE_SECONDS (and, with clientAuth, good for a TLS client too).
 * @param {{certFile: string, keyFile: string, caCertFile: string, san: string[], clientAuth?: boolean}} wanted
 */
export async function serverCertFits({ certFile, keyFile, caCertFile, san, clientAuth = false }) {
  if (!(await exists(certFile)) || !(await exists(keyFile))) return false
  try {
    await openssl(['verify', '-CAfile', caCertFile, '-purpose', 'sslserver', certFile])
    if (clientAuth) await openssl(['verify', '-CAfile', caCertFile, '-purpose', 'sslclient', certFile])
    await openssl(['x509', '-noout', '-checkend', String(RENEW_BEFORE_SECONDS), '-in', certFile])
    const have = await certSan(certFile)
    if ([...have].sort().join(',') !== [...san].sort().join(',')) return false
    const certKey = (await openssl(['x509', '-noout', '-pubkey', '-in', certFile])).stdout
    const ownKey = (await openssl(['pkey', '-pubout', '-in', keyFile])).stdout
    return certKey === ownKey
  } catch {
    return false
  }
}

/**
 * A host address's server key and certificate in `<pki>/hosts/`, reused while they fit (serverCertFits).
 * @param {{dir: string, caCertFile: string, caKeyFile: string}} ca @param {{address: string, dnsNames: string[]}} host
 * @param {{subdir?: string, clientAuth?: boolean}} [options] subdir: of the pki directory; clientAuth: the
 *   certificate also proves the host as a TLS client (pgBackRest's hosts are both, backup-config.mjs)
 * @returns {Promise<{certFile: string, keyFile: string, changed: boolean}>}
 */
export async function ensureServerCert(ca, { address, dnsNames }, { subdir = 'hosts', clientAuth = false } = {}) {
  const hostsDir = path.join(ca.dir, subdir)
  const certFile = path.join(hostsDir, `${address}.crt`)
  const keyFile = path.join(hostsDir, `${address}.key`)
  const san = wantedSan(address, dnsNames)
  if (await serverCertFits({ certFile, keyFile, caCertFile: ca.caCertFile, san, clientAuth })) {
    await fs.chmod(keyFile, 0o600)
    return { certFile, keyFile, changed: false }
  }
  await fs.mkdir(hostsDir, { recursive: true, mode: 0o700 })
  const tmp = await fs.mkdtemp(path.join(hostsDir, `.${address}.`))
  try {
    const key = path.join(tmp, 'server.key')
    const csr = path.join(tmp, 'server.csr')
    const cert = path.join(tmp, 'server.crt')
    const ext = path.join(tmp, 'ext.cnf')
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key])
    await fs.chmod(key, 0o600)
    await openssl(['req', '-new', '-key', key, '-subj', `/CN=${address}`, '-out', csr])
    await fs.writeFile(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=serverAuth${clientAuth ? ',clientAuth' : ''}`,
        `subjectAltName=${san.join(',')}`,
        '',
      ].join('\n'),
    )
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.caCertFile,
      '-CAkey',
      ca.caKeyFile,
      // A passphrase-protected CA key fails here instead of waiting for a prompt.
      '-passin',
      'pass:',
      '-set_serial',
      `0x${crypto.randomBytes(16).toString('hex')}`,
      '-days',
      String(SERVER_DAYS),
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ])
    await fs.rename(key, keyFile)
    await fs.rename(cert, certFile)
  } finally {
    await fs.rm(tmp, { recursive: true, force: true })
  }
  return { certFile, keyFile, changed: true }
}

/**
 * openssl with its output; a failure names the subcommand and openssl's last lines (no key material:
 * keys are only ever files).
 * @param {string[]} args
 */
async function openssl(args) {
  try {
    return await run('openssl', args, { maxBuffer: 1 << 20 })
  } catch (error) {
    const stderr = /** @type {{stderr?: string}} */ (error).stderr ?? ''
    if (errorCode(error) === 'ENOENT') throw new Error('ssl: ca needs openssl on the machine that runs bring-up', { cause: error })
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim().split('\n').slice(-2).join(' | ')}`, { cause: error })
  }
}
