// ssl: ca on the machine that runs bring-up (scripts/lib/pki.mjs), with openssl in a temporary
// directory: the CA is generated once and reused, a host's certificate names its address and
// inventory names, is signed by the CA, keeps its key 0600, and is replaced only when it no longer fits.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { caFilesFor, certSan, ensureCa, ensureServerCert, pkiDirFor } from '../../scripts/lib/pki.mjs'
import { InputError } from '../../lib/errors.mjs'

const run = promisify(execFile)
/** @type {string} */
let dir
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-pki-'))
})
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

/** @param {string} file */
const mode = async (file) => (await fs.stat(file)).mode & 0o777

/** openssl verify's verdict on a certificate against a CA. @param {string} caFile @param {string} certFile */
async function verifies(caFile, certFile) {
  return run('openssl', ['verify', '-CAfile', caFile, certFile]).then(
    () => true,
    () => false,
  )
}

describe('cluster CA and host certificates (ssl: ca)', () => {
  it('generates the CA beside the inventory once (ca.key 0600) and reuses it after', async () => {
    const ca = caFilesFor(path.join(dir, 'prod.yml'))
    expect(ca).toEqual({
      dir: path.join(dir, 'prod.pki'),
      caCertFile: path.join(dir, 'prod.pki/ca.crt'),
      caKeyFile: path.join(dir, 'prod.pki/ca.key'),
      supplied: false,
    })
    expect(pkiDirFor(path.join(dir, 'prod.yml'))).toBe(ca.dir)

    // --check: says it would, writes nothing.
    expect(await ensureCa(ca, { write: false })).toEqual({ created: true })
    await expect(fs.access(ca.dir)).rejects.toThrow()

    expect(await ensureCa(ca)).toEqual({ created: true })
    expect(await mode(ca.caKeyFile)).toBe(0o600)
    expect(await mode(ca.dir)).toBe(0o700)
    const { stdout } = await run('openssl', ['x509', '-noout', '-ext', 'basicConstraints', '-in', ca.caCertFile])
    expect(stdout).toContain('CA:TRUE')
    const before = await fs.readFile(ca.caCertFile, 'utf8')
    expect(await ensureCa(ca)).toEqual({ created: false })
    expect(await fs.readFile(ca.caCertFile, 'utf8')).toBe(before)
  })

  it('signs a certificate with the address and the inventory names, key 0600, and reuses it on a re-run', async () => {
    const ca = caFilesFor(path.join(dir, 'prod.yml'))
    await ensureCa(ca)
    const first = await ensureServerCert(ca, { address: '10.0.0.13', dnsNames: ['vm3-monitor', 'vm3'] })
    expect(first.changed).toBe(true)
    expect(first.certFile).toBe(path.join(ca.dir, 'hosts/10.0.0.13.crt'))
    expect(await mode(first.keyFile)).toBe(0o600)
    expect((await certSan(first.certFile)).sort()).toEqual(['DNS:vm3', 'DNS:vm3-monitor', 'IP:10.0.0.13'])
    expect(await verifies(ca.caCertFile, first.certFile)).toBe(true)
    const { stdout } = await run('openssl', ['x509', '-noout', '-ext', 'extendedKeyUsage', '-in', first.certFile])
    expect(stdout).toContain('TLS Web Server Authentication')

    const cert = await fs.readFile(first.certFile, 'utf8')
    const key = await fs.readFile(first.keyFile, 'utf8')
    const again = await ensureServerCert(ca, { address: '10.0.0.13', dnsNames: ['vm3', 'vm3-monitor'] })
    expect(again.changed).toBe(false)
    expect(await fs.readFile(again.certFile, 'utf8')).toBe(cert)
    expect(await fs.readFile(again.keyFile, 'utf8')).toBe(key)
    // No key material left anywhere else in the directory.
    expect((await fs.readdir(path.join(ca.dir, 'hosts'))).sort()).toEqual(['10.0.0.13.crt', '10.0.0.13.key'])
  })

  it('replaces a certificate whose names or CA no longer match', async () => {
    const ca = caFilesFor(path.join(dir, 'renames.yml'))
    await ensureCa(ca)
    const first = await ensureServerCert(ca, { address: '10.0.0.11', dnsNames: ['vm1'] })
    const renamed = await ensureServerCert(ca, { address: '10.0.0.11', dnsNames: ['db1'] })
    expect(renamed.changed).toBe(true)
    expect(await certSan(renamed.certFile)).toEqual(['IP:10.0.0.11', 'DNS:db1'])

    // A new CA (the operator replaced ca.crt and ca.key): the old certificate is re-signed.
    const old = await fs.readFile(first.certFile, 'utf8')
    await fs.rm(ca.caCertFile)
    await fs.rm(ca.caKeyFile)
    expect(await ensureCa(ca)).toEqual({ created: true })
    expect(await verifies(ca.caCertFile, renamed.certFile)).toBe(false)
    const resigned = await ensureServerCert(ca, { address: '10.0.0.11', dnsNames: ['db1'] })
    expect(resigned.changed).toBe(true)
    expect(await fs.readFile(resigned.certFile, 'utf8')).not.toBe(old)
    expect(await verifies(ca.caCertFile, resigned.certFile)).toBe(true)
  })

  it("uses the user's CA as it is, and refuses one that is missing or half there", async () => {
    const own = caFilesFor(path.join(dir, 'own.yml'))
    await ensureCa(own)
    const supplied = caFilesFor(path.join(dir, 'other.yml'), { caCertFile: own.caCertFile, caKeyFile: own.caKeyFile })
    expect(supplied.supplied).toBe(true)
    expect(await ensureCa(supplied)).toEqual({ created: false })
    const cert = await ensureServerCert(supplied, { address: '10.0.0.12', dnsNames: ['vm2'] })
    expect(cert.certFile).toBe(path.join(dir, 'other.pki/hosts/10.0.0.12.crt'))
    expect(await verifies(own.caCertFile, cert.certFile)).toBe(true)

    const missing = caFilesFor(path.join(dir, 'x.yml'), { caCertFile: path.join(dir, 'nope.crt'), caKeyFile: own.caKeyFile })
    await expect(ensureCa(missing)).rejects.toThrow(InputError)
    await expect(ensureCa(missing)).rejects.toThrow(/nope\.crt does not exist/)

    const half = caFilesFor(path.join(dir, 'half.yml'))
    await fs.mkdir(half.dir)
    await fs.writeFile(half.caCertFile, await fs.readFile(own.caCertFile))
    await expect(ensureCa(half)).rejects.toThrow(/has ca\.crt but no ca\.key/)
  })
})
