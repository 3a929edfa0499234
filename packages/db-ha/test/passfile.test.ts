// libpq's password file, honoured as libpq does: used only when no password was given, matched
// per host (so each host of a multi-host DSN may get its own line), `*` and `\` escapes, the first
// matching line wins, a Unix socket matches as localhost, a file others may read is not used.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../src/dsn/index.js'
import { clientConfigFor } from '../src/pool/client-config.js'
import { passwordFromPassfile } from '../src/settings/passfile.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-ha-passfile-'))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

function passfile(name: string, text: string, mode = 0o600): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text, { mode })
  fs.chmodSync(file, mode)
  return file
}

const LINES = [
  '# comment',
  'db1:5432:app:app:first',
  'db1:5432:app:app:shadowed',
  'db2:*:app:app:two:with:colons',
  'db\\:3:5432:*:app:escaped\\\\pass',
  'localhost:5433:app:app:socket',
  '\\*:5432:app:app:literal-star',
  '*:*:*:other:any',
  '',
].join('\n')

describe('passwordFromPassfile', () => {
  const file = passfile('pgpass', LINES)
  const target = (host: string, port = 5432, user = 'app') => ({ host, port, dbname: 'app', user })

  it('matches host, port, database and user, the first line winning', () => {
    expect(passwordFromPassfile(file, target('db1'))).toBe('first')
    expect(passwordFromPassfile(file, target('db2', 6000))).toBe('two:with:colons')
    expect(passwordFromPassfile(file, target('db:3'))).toBe('escaped\\pass')
    expect(passwordFromPassfile(file, target('/var/run/postgresql', 5433))).toBe('socket')
    expect(passwordFromPassfile(file, target('*'))).toBe('literal-star')
    expect(passwordFromPassfile(file, target('elsewhere', 1, 'other'))).toBe('any')
    expect(passwordFromPassfile(file, target('elsewhere'))).toBeUndefined()
  })

  it('does not use a file others may read, or one that is missing', () => {
    expect(passwordFromPassfile(passfile('open', LINES, 0o644), target('db1'))).toBeUndefined()
    expect(passwordFromPassfile(path.join(dir, 'missing'), target('db1'))).toBeUndefined()
  })
})

describe("the pool's client settings", () => {
  const file = passfile('pool-pgpass', LINES)

  it("take each host's password from the passfile (DSN passfile or PGPASSFILE) when none is given", () => {
    for (const settings of [
      resolveSettings({ env: {}, dsn: `host=db1,db2 port=5432,6000 dbname=app user=app passfile=${file}` }),
      resolveSettings({ env: { PGPASSFILE: file }, dsn: 'host=db1,db2 port=5432,6000 dbname=app user=app' }),
    ]) {
      expect(settings.hosts.map((host) => clientConfigFor(settings, host, false).password)).toEqual(['first', 'two:with:colons'])
    }
  })

  it('keep a password that was given', () => {
    const settings = resolveSettings({ env: {}, dsn: `host=db1 dbname=app user=app password=given passfile=${file}` })
    expect(clientConfigFor(settings, settings.hosts[0]!, false).password).toBe('given')
  })
})
