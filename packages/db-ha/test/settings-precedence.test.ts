import { describe, expect, it } from 'vitest'
import { DsnError, resolveSettings, type ResolveInput } from '../src/dsn/index.js'
import type { ConnectionSettings } from '../src/settings/connection-settings.js'

// Never the real process.env: a developer's PGHOST must not change a test.
const resolve = (input: ResolveInput) => resolveSettings({ env: {}, ...input })

interface Setting {
  keyword: string
  env: string
  /** Values for PG*, the DSN and explicit options, each different; `option` is in ConnectionSettings' form. */
  values: { env: string; dsn: string; option: Partial<ConnectionSettings> }
  read: (s: ConnectionSettings) => unknown
  expected: { env: unknown; dsn: unknown; option: unknown; default: unknown }
}

const SETTINGS: Setting[] = [
  {
    keyword: 'host',
    env: 'PGHOST',
    values: { env: 'env-host', dsn: 'dsn-host', option: { hosts: [{ host: 'option-host', port: 5432 }] } },
    read: (s) => s.hosts.map((h) => h.host),
    expected: { env: ['env-host'], dsn: ['dsn-host'], option: ['option-host'], default: ['/var/run/postgresql'] },
  },
  {
    keyword: 'port',
    env: 'PGPORT',
    values: { env: '6001', dsn: '6002', option: { hosts: [{ host: 'h', port: 6003 }] } },
    read: (s) => s.hosts.map((h) => h.port),
    expected: { env: [6001], dsn: [6002], option: [6003], default: [5432] },
  },
  ...(['dbname', 'user', 'password'] as const).map((keyword): Setting => ({
    keyword,
    env: { dbname: 'PGDATABASE', user: 'PGUSER', password: 'PGPASSWORD' }[keyword],
    values: { env: `env-${keyword}`, dsn: `dsn-${keyword}`, option: { [keyword]: `option-${keyword}` } },
    read: (s) => s[keyword],
    expected: { env: `env-${keyword}`, dsn: `dsn-${keyword}`, option: `option-${keyword}`, default: undefined },
  })),
  {
    keyword: 'connect_timeout',
    env: 'PGCONNECT_TIMEOUT',
    values: { env: '7', dsn: '8', option: { connectTimeout: 9 } },
    read: (s) => s.connectTimeout,
    expected: { env: 7, dsn: 8, option: 9, default: undefined },
  },
  {
    keyword: 'target_session_attrs',
    env: 'PGTARGETSESSIONATTRS',
    values: { env: 'read-only', dsn: 'primary', option: { targetSessionAttrs: 'standby' } },
    read: (s) => s.targetSessionAttrs,
    expected: { env: 'read-only', dsn: 'primary', option: 'standby', default: 'any' },
  },
  {
    keyword: 'sslmode',
    env: 'PGSSLMODE',
    values: { env: 'allow', dsn: 'require', option: { sslmode: 'verify-full' } },
    read: (s) => s.sslmode,
    expected: { env: 'allow', dsn: 'require', option: 'verify-full', default: 'prefer' },
  },
]

describe.each(SETTINGS)('precedence of $keyword', ({ keyword, env, values, read, expected }) => {
  const kv = `${keyword}=${values.dsn}`
  const uri = `postgresql:///?${keyword}=${values.dsn}`

  it('defaults when nothing sets it', () => {
    expect(read(resolve({}))).toEqual(expected.default)
    expect(read(resolve({ dsn: 'application_name=x' }))).toEqual(expected.default)
  })

  it(`takes ${env} over the default, and ignores it when empty`, () => {
    expect(read(resolve({ env: { [env]: values.env } }))).toEqual(expected.env)
    expect(read(resolve({ env: { [env]: '' } }))).toEqual(expected.default)
  })

  it(`takes the DSN over ${env}, in either form`, () => {
    expect(read(resolve({ dsn: kv, env: { [env]: values.env } }))).toEqual(expected.dsn)
    expect(read(resolve({ dsn: uri, env: { [env]: values.env } }))).toEqual(expected.dsn)
  })

  it(`takes an empty DSN value as the default, without consulting ${env} (as libpq does)`, () => {
    for (const dsn of [`${keyword}=''`, `${keyword}=`, `postgresql:///?${keyword}=`]) {
      expect(read(resolve({ dsn, env: { [env]: values.env } }))).toEqual(expected.default)
      expect(read(resolve({ dsn }))).toEqual(expected.default)
    }
  })

  it('takes an explicit option over the DSN and the environment', () => {
    expect(read(resolve({ dsn: kv, env: { [env]: values.env }, options: values.option }))).toEqual(expected.option)
    expect(read(resolve({ options: values.option }))).toEqual(expected.option)
  })

  it('ignores an explicit option that is undefined', () => {
    const unset = Object.fromEntries(Object.keys(values.option).map((k) => [k, undefined]))
    expect(read(resolve({ dsn: kv, options: unset }))).toEqual(expected.dsn)
  })
})

describe('host lists', () => {
  const hosts = (input: ResolveInput) => resolve(input).hosts

  it('gives one port to every host, or a port each', () => {
    expect(hosts({ dsn: 'host=h1,h2,h3 port=6000' })).toEqual([
      { host: 'h1', port: 6000 },
      { host: 'h2', port: 6000 },
      { host: 'h3', port: 6000 },
    ])
    expect(hosts({ dsn: 'postgresql://h1:5432,h2:5433,[::1]:5434/db' })).toEqual([
      { host: 'h1', port: 5432 },
      { host: 'h2', port: 5433 },
      { host: '::1', port: 5434 },
    ])
  })

  it('defaults empty host and port entries, as libpq does', () => {
    // libpq parses these to port ",," and ",5433": as many entries as hosts, the empty ones default.
    expect(hosts({ dsn: 'postgresql://h1,h2,h3/db' }).map((h) => h.port)).toEqual([5432, 5432, 5432])
    expect(hosts({ dsn: 'postgresql://h1,h2:5433/db' })).toEqual([
      { host: 'h1', port: 5432 },
      { host: 'h2', port: 5433 },
    ])
    expect(hosts({ dsn: 'host=h1,,h3 port=1,,3' })).toEqual([
      { host: 'h1', port: 1 },
      { host: '/var/run/postgresql', port: 5432 },
      { host: 'h3', port: 3 },
    ])
  })

  it('lets a URI host list without ports shut out PGPORT, as libpq does', () => {
    // libpq reads "h1,h2" as port ",": set, so PGPORT is not consulted, and each empty entry defaults.
    expect(hosts({ dsn: 'postgresql://h1,h2/db', env: { PGPORT: '6000' } }).map((h) => h.port)).toEqual([5432, 5432])
    expect(hosts({ dsn: 'postgresql://h1/db', env: { PGPORT: '6000' } }).map((h) => h.port)).toEqual([6000])
  })

  it('pairs host names with hostaddr values, and uses a hostaddr alone as the host', () => {
    expect(hosts({ dsn: 'host=a,b hostaddr=10.0.0.1,10.0.0.2 port=1,2' })).toEqual([
      { host: 'a', hostaddr: '10.0.0.1', port: 1 },
      { host: 'b', hostaddr: '10.0.0.2', port: 2 },
    ])
    expect(hosts({ dsn: 'postgresql:///db?hostaddr=127.0.0.1,127.0.0.2' })).toEqual([
      { host: '127.0.0.1', hostaddr: '127.0.0.1', port: 5432 },
      { host: '127.0.0.2', hostaddr: '127.0.0.2', port: 5432 },
    ])
  })

  it('mixes sources per keyword: DSN hosts with PGPORT, DSN hostaddr with PGHOST', () => {
    expect(hosts({ dsn: 'host=a,b', env: { PGPORT: '6000,6001' } })).toEqual([
      { host: 'a', port: 6000 },
      { host: 'b', port: 6001 },
    ])
    expect(hosts({ dsn: 'hostaddr=10.0.0.1', env: { PGHOST: 'db.example' } })).toEqual([
      { host: 'db.example', hostaddr: '10.0.0.1', port: 5432 },
    ])
  })
})

function resolveError(input: ResolveInput): DsnError {
  try {
    resolve(input)
  } catch (error) {
    if (error instanceof DsnError) return error
    throw error
  }
  throw new Error(`resolveSettings accepted ${JSON.stringify(input)}`)
}

describe('invalid settings', () => {
  it('rejects a port count that matches neither one nor the host count, naming port', () => {
    for (const input of [
      { dsn: 'host=a,b,c port=1,2' },
      { dsn: 'postgresql://a:1,b:2/db?port=1,2,3' },
      { dsn: 'host=a port=1,2' },
      { dsn: 'port=1,2,3', env: { PGHOST: 'a,b' } },
    ]) {
      const error = resolveError(input)
      expect(error.code).toBe('DSN_BAD_VALUE')
      expect(error.keyword).toBe('port')
      expect(error.message).toMatch(/port/)
    }
  })

  it('rejects host and hostaddr lists of different lengths, naming hostaddr', () => {
    const error = resolveError({ dsn: 'host=a,b hostaddr=10.0.0.1' })
    expect(error).toMatchObject({
      code: 'DSN_BAD_VALUE',
      keyword: 'hostaddr',
      message: 'could not match 2 host names to 1 hostaddr values',
    })
  })

  it.each([
    ['target_session_attrs', 'bogus'],
    ['target_session_attrs', 'READ-WRITE'],
    ['sslmode', 'maybe'],
    ['load_balance_hosts', 'sometimes'],
    ['connect_timeout', 'abc'],
    ['connect_timeout', '1.5'],
    ['connect_timeout', '2147483648'],
    ['keepalives', 'yes'],
    ['keepalives_idle', '5s'],
    ['port', '99999'],
    ['port', '0'],
    ['port', 'abc'],
    ['port', '-1'],
    ['port', '5432x'],
  ])('rejects %s=%s with a DsnError naming the keyword', (keyword, value) => {
    for (const input of [{ dsn: `${keyword}=${value}` }, { dsn: `postgresql://h/db?${keyword}=${value}` }]) {
      const error = resolveError(input)
      expect(error.code).toBe('DSN_BAD_VALUE')
      expect(error.keyword).toBe(keyword)
      expect(error.message).toContain(value)
    }
  })

  it('rejects bad values from the environment too', () => {
    expect(resolveError({ env: { PGCONNECT_TIMEOUT: 'soon' } }).keyword).toBe('connect_timeout')
    expect(resolveError({ env: { PGPORT: '70000' } }).keyword).toBe('port')
    expect(resolveError({ env: { PGTARGETSESSIONATTRS: 'bogus' } }).keyword).toBe('target_session_attrs')
  })

  it('reads integers as libpq does: blanks around and a sign allowed', () => {
    expect(resolve({ dsn: "connect_timeout=' 10 ' port='\t6000 '" })).toMatchObject({ connectTimeout: 10, hosts: [{ port: 6000 }] })
    expect(resolve({ dsn: 'connect_timeout=+3 keepalives=0' })).toMatchObject({ connectTimeout: 3, keepalives: false })
  })

  it('passes parse errors through', () => {
    expect(resolveError({ dsn: "host='a" }).code).toBe('DSN_SYNTAX')
    expect(resolveError({ dsn: 'postgresql://h/db?bogus=1' })).toMatchObject({ code: 'DSN_INVALID_OPTION', keyword: 'bogus' })
  })
})

describe("load_balance_hosts (libpq 16, not in Debian 12's libpq)", () => {
  it('is read from the DSN, then PGLOADBALANCEHOSTS, then defaults to disable', () => {
    expect(resolve({}).loadBalanceHosts).toBe('disable')
    expect(resolve({ env: { PGLOADBALANCEHOSTS: 'random' } }).loadBalanceHosts).toBe('random')
    expect(
      resolve({ dsn: 'postgresql://h1,h2/db?load_balance_hosts=disable', env: { PGLOADBALANCEHOSTS: 'random' } }).loadBalanceHosts,
    ).toBe('disable')
    expect(resolve({ dsn: 'host=h1,h2 load_balance_hosts=random' }).loadBalanceHosts).toBe('random')
    expect(resolve({ dsn: 'load_balance_hosts=random', options: { loadBalanceHosts: 'disable' } }).loadBalanceHosts).toBe('disable')
  })
})
