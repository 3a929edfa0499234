// Every libpq setting a user gives is honoured or refused with DSN_UNSUPPORTED naming it and where
// it came from; none is silently dropped (channel_binding=require silently weakened would be a
// security defect).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DsnError, resolveSettings, type ResolveInput } from '../src/dsn/index.js'
import { clientConfigFor, sslOptions } from '../src/pool/client-config.js'

const resolve = (input: ResolveInput) => resolveSettings({ env: {}, ...input })
const refusal = (input: ResolveInput): DsnError => {
  try {
    resolve(input)
  } catch (error) {
    if (error instanceof DsnError) return error
    throw error
  }
  throw new Error('resolved without an error')
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-ha-settings-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('settings db-ha cannot honour', () => {
  it.each([
    ['channel_binding', 'require'],
    ['keepalives_interval', '5'],
    ['keepalives_count', '3'],
    ['tcp_user_timeout', '1000'],
    ['sslcrldir', '/etc/crl'],
    ['requirepeer', 'postgres'],
    ['krbsrvname', 'postgres'],
    ['gsslib', 'gssapi'],
    ['service', 'prod'],
    ['replication', 'database'],
    ['gssencmode', 'require'],
    ['sslcompression', '1'],
    ['sslsni', '0'],
    ['client_encoding', 'LATIN1'],
  ])('%s=%s in the DSN is refused, naming it', (keyword, value) => {
    const error = refusal({ dsn: `host=h ${keyword}=${value}` })
    expect(error.code).toBe('DSN_UNSUPPORTED')
    expect(error.keyword).toBe(keyword)
    expect(error.message).toContain(`"${keyword}" = "${value}" from the DSN is not supported by db-ha`)
  })

  it('from the environment too, naming the variable', () => {
    const error = refusal({ dsn: 'host=h', env: { PGCHANNELBINDING: 'require' } })
    expect(error.code).toBe('DSN_UNSUPPORTED')
    expect(error.message).toContain('from PGCHANNELBINDING')
  })

  it('accepts the values db-ha has anyway', () => {
    expect(() =>
      resolve({ dsn: 'host=h channel_binding=disable gssencmode=disable sslcompression=0 sslsni=1 client_encoding=UTF8' }),
    ).not.toThrow()
  })
})

describe('settings db-ha honours', () => {
  it('fallback_application_name when application_name is not given', () => {
    expect(resolve({ dsn: 'host=h fallback_application_name=fb' }).applicationName).toBe('fb')
    expect(resolve({ dsn: 'host=h fallback_application_name=fb application_name=app' }).applicationName).toBe('app')
  })

  it('channel_binding=prefer as SCRAM-SHA-256-PLUS when offered', () => {
    const settings = resolve({ dsn: 'host=h channel_binding=prefer' })
    expect(clientConfigFor(settings, settings.hosts[0]!, false).enableChannelBinding).toBe(true)
    const plain = resolve({ dsn: 'host=h' })
    expect(clientConfigFor(plain, plain.hosts[0]!, false).enableChannelBinding).toBe(false)
  })

  it('with hostaddr, the certificate is checked against host (the name), as libpq does', () => {
    const named = resolve({ dsn: 'host=db.example.com hostaddr=10.0.0.11 sslmode=require' })
    const config = clientConfigFor(named, named.hosts[0]!, sslOptions(named))
    expect(config.host).toBe('10.0.0.11')
    expect(config.ssl).toMatchObject({ servername: 'db.example.com' })
    const plain = resolve({ dsn: 'host=10.0.0.11 sslmode=require' })
    expect(clientConfigFor(plain, plain.hosts[0]!, sslOptions(plain)).ssl).not.toHaveProperty('servername')
    expect(clientConfigFor(named, named.hosts[0]!, false).ssl).toBe(false)
  })

  it('sslcrl, sslpassword and the TLS protocol bounds in the TLS options', () => {
    const crl = path.join(dir, 'root.crl')
    fs.writeFileSync(crl, '-----BEGIN X509 CRL-----\n')
    const settings = resolve({
      dsn: `host=h sslmode=require sslcrl=${crl} sslpassword=secret ssl_min_protocol_version=TLSv1.3`,
      env: { PGSSLMAXPROTOCOLVERSION: 'TLSv1.3' },
    })
    expect(sslOptions(settings)).toMatchObject({
      crl: '-----BEGIN X509 CRL-----\n',
      passphrase: 'secret',
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
    })
    expect(refusal({ dsn: 'host=h ssl_min_protocol_version=TLSv9' }).code).toBe('DSN_BAD_VALUE')
  })
})
