import { describe, expect, it } from 'vitest'
import { classifyError, NoSuitableHostError } from '../src/errors/index.js'

describe('NoSuitableHostError', () => {
  it('lists every host and why it was rejected, like libpq', () => {
    const error = new NoSuitableHostError('read-write', [
      { host: '10.0.0.11', port: 5432, reason: 'read-only' },
      { host: '10.0.0.12', port: 5432, reason: 'timeout', detail: 'after 3 s' },
      { host: '10.0.0.13', port: 5432, reason: 'refused' },
    ])
    expect(error.message).toBe(
      'no suitable host for target_session_attrs=read-write: 10.0.0.11:5432 read-only; 10.0.0.12:5432 timeout after 3 s; 10.0.0.13:5432 refused',
    )
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('NoSuitableHostError')
    expect(error.code).toBe('DB_HA_NO_SUITABLE_HOST')
    expect(error.targetSessionAttrs).toBe('read-write')
    expect(error.attempts.map((a) => a.reason)).toEqual(['read-only', 'timeout', 'refused'])
  })

  it('brackets IPv6 addresses and names Unix sockets as libpq does', () => {
    const error = new NoSuitableHostError('standby', [
      { host: 'fd00::11', port: 5433, reason: 'not-standby' },
      { host: '/var/run/postgresql/', port: 5432, reason: 'lagging', detail: '48 MB behind' },
    ])
    expect(error.message).toBe(
      'no suitable host for target_session_attrs=standby: [fd00::11]:5433 not-standby; /var/run/postgresql/.s.PGSQL.5432 lagging 48 MB behind',
    )
  })

  it('says so when no host was tried', () => {
    expect(new NoSuitableHostError('any', []).message).toBe('no suitable host for target_session_attrs=any: no hosts tried')
  })

  it('never carries a password, in the message or in attempts', () => {
    const error = new NoSuitableHostError('primary', [
      { host: 'db1', port: 5432, reason: 'error', detail: 'could not use postgres://app:s3cr%40t@db1:5432/app?sslmode=require' },
      { host: 'db2', port: 5432, reason: 'auth-failed', detail: "host=db2 user=app password='hunter 2' dbname=app" },
      { host: 'db3', port: 5432, reason: 'error', detail: 'postgresql://db3/app?user=app&password=letmein&sslmode=disable' },
    ])
    const everything = JSON.stringify({ message: error.message, attempts: error.attempts })
    for (const secret of ['s3cr', 'hunter', 'letmein']) expect(everything).not.toContain(secret)
    expect(error.message).toContain('postgres://app:***@db1:5432/app?sslmode=require')
    expect(error.message).toContain('password=*** dbname=app')
    expect(error.message).toContain('password=***&sslmode=disable')
  })

  it("does not alter the caller's attempts", () => {
    const attempts = [{ host: 'db1', port: 5432, reason: 'error' as const, detail: 'password=x' }]
    new NoSuitableHostError('any', attempts)
    expect(attempts[0]?.detail).toBe('password=x')
  })

  it('is a failover-class error that was never sent', () => {
    const error = new NoSuitableHostError('read-write', [
      { host: '10.0.0.11', port: 5432, reason: 'read-only' },
      { host: '10.0.0.12', port: 5432, reason: 'auth-failed' },
    ])
    expect(classifyError(error)).toMatchObject({ kind: 'failover', sent: 'no' })
  })
})
