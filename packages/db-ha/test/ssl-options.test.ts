// The TLS options node-postgres gets, derived from sslmode and the ssl* settings as libpq reads
// them: the files are read once, when the pool is built.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ConnectionOptions } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../src/dsn/index.js'
import { sslOptions } from '../src/pool/client-config.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-ha-ssl-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string) => {
  const at = path.join(dir, name)
  fs.writeFileSync(at, text, { mode: 0o600 })
  return at
}
const ca = file('root.crt', 'ROOT CA PEM\n')
const cert = file('client.crt', 'CLIENT CERT PEM\n')
const key = file('client.key', 'CLIENT KEY PEM\n')
const crl = file('root.crl', 'CRL PEM\n')

const options = (dsn: string, env: NodeJS.ProcessEnv = {}) => sslOptions(resolveSettings({ dsn, env }))
const tls = (dsn: string, env: NodeJS.ProcessEnv = {}) => {
  const ssl = options(dsn, env)
  if (typeof ssl !== 'object') throw new Error(`expected TLS options, got ${String(ssl)}`)
  return ssl as ConnectionOptions
}

describe('sslOptions', () => {
  it.each(['disable', 'allow', 'prefer'])('sslmode=%s connects in plain text (node-postgres cannot fall back)', (mode) => {
    expect(options(`host=h sslmode=${mode}`)).toBe(false)
  })

  it("defaults to libpq's prefer: plain text", () => {
    expect(options('host=h')).toBe(false)
  })

  it('sslmode=require encrypts without checking the certificate, even with sslrootcert', () => {
    const ssl = tls(`host=h sslmode=require sslrootcert=${ca}`)
    expect(ssl.rejectUnauthorized).toBe(false)
    expect(ssl.ca).toBeUndefined()
  })

  it('sslmode=verify-ca checks the chain against sslrootcert, not the host name', () => {
    const ssl = tls(`host=h sslmode=verify-ca sslrootcert=${ca}`)
    expect(ssl).toMatchObject({ rejectUnauthorized: true, ca: 'ROOT CA PEM\n' })
    // Replaces node's host name check with one that accepts any name.
    expect(ssl.checkServerIdentity).toBeTypeOf('function')
    expect(ssl.checkServerIdentity?.('other.example', {} as never)).toBeUndefined()
  })

  it("sslmode=verify-full checks the host name too (node's default check)", () => {
    const ssl = tls(`host=h sslmode=verify-full sslrootcert=${ca}`)
    expect(ssl).toMatchObject({ rejectUnauthorized: true, ca: 'ROOT CA PEM\n' })
    expect(ssl.checkServerIdentity).toBeUndefined()
  })

  it('reads sslcert, sslkey and sslcrl, and passes sslpassword and the protocol bounds', () => {
    const ssl = tls(
      `host=h sslmode=verify-full sslcert=${cert} sslkey=${key} sslcrl=${crl} sslpassword=secret ssl_max_protocol_version=TLSv1.3`,
    )
    expect(ssl).toMatchObject({
      cert: 'CLIENT CERT PEM\n',
      key: 'CLIENT KEY PEM\n',
      crl: 'CRL PEM\n',
      passphrase: 'secret',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
    })
  })

  it('leaves out what was not given', () => {
    const ssl = tls('host=h sslmode=require')
    expect([ssl.cert, ssl.key, ssl.crl, ssl.passphrase, ssl.maxVersion]).toEqual([undefined, undefined, undefined, undefined, undefined])
    expect(ssl.minVersion).toBe('TLSv1.2')
  })

  it('takes sslmode and the files from PG* variables too', () => {
    const ssl = tls('host=h', { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: ca, PGSSLCERT: cert, PGSSLKEY: key })
    expect(ssl).toMatchObject({ rejectUnauthorized: true, ca: 'ROOT CA PEM\n', cert: 'CLIENT CERT PEM\n', key: 'CLIENT KEY PEM\n' })
  })

  it('fails when a file given cannot be read', () => {
    expect(() => options(`host=h sslmode=verify-full sslrootcert=${path.join(dir, 'missing.crt')}`)).toThrow(/ENOENT/)
  })
})
