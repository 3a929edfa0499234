// The ssh transport's command lines, without a host: argv survives the remote shell whatever
// it is (dash or bash), users are switched the documented way, units are quoted for systemd.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { shellQuote } from '../../lib/shell.mjs'
import { remoteCommand } from '../../scripts/lib/transports/ssh-transport.mjs'
import { systemdUnit } from '../../scripts/lib/transports/systemd-unit.mjs'

const NASTY = [
  'plain',
  '',
  'two words',
  "it's",
  '"double"',
  '$HOME',
  '`id`',
  '$(id)',
  'a\nb',
  'back\\slash',
  '*',
  '~',
  '-n',
  'x=y',
  '%s',
  ';&|<>',
]

describe('ssh transport command lines', () => {
  for (const shell of ['dash', 'bash']) {
    it(`quotes every argument so ${shell} passes it through unchanged`, () => {
      const out = spawnSync(shell, ['-c', `printf '%s\\0' ${NASTY.map(shellQuote).join(' ')}`], { encoding: 'utf8' })
      expect(out.status).toBe(0)
      expect(out.stdout.split('\0').slice(0, -1)).toEqual(NASTY)
    })
  }

  it('switches user with setpriv as root, sudo -n otherwise, and not at all for the same user', () => {
    const argv = ['psql', '-c', "select 'x'"]
    const env = { PATH: '/usr/lib/postgresql/15/bin:/usr/bin:/bin' }
    expect(remoteCommand(argv, { user: 'postgres', env }, 'root')).toBe(
      `cd / && exec setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups --reset-env env 'PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin' psql -c 'select '\\''x'\\'''`,
    )
    expect(remoteCommand(argv, { user: 'postgres' }, 'admin')).toBe(`cd / && exec sudo -n -H -u postgres -- psql -c 'select '\\''x'\\'''`)
    expect(remoteCommand(argv, { user: 'postgres' }, 'postgres')).toBe(`cd / && exec psql -c 'select '\\''x'\\'''`)
    expect(remoteCommand(['true'], {}, 'admin')).toBe('cd / && exec true')
  })

  it('runs the command it built, as a login shell would', () => {
    const line = remoteCommand(['printf', '%s|', ...NASTY], { env: { A: 'b c' } }, 'root')
    const out = spawnSync('dash', ['-c', line], { encoding: 'utf8' })
    expect(out.stdout).toBe(NASTY.map((arg) => `${arg}|`).join(''))
  })

  it('writes a systemd unit like pg_autoctl show systemd, with no expansion of % or $', () => {
    const unit = systemdUnit({
      name: 'pgautofailover-node-5432',
      user: 'postgres',
      argv: ['pg_autoctl', 'run', '--pgdata', '/srv/100%$x'],
      env: { PATH: '/usr/bin:/bin' },
    })
    expect(unit).toContain('User=postgres\n')
    expect(unit).toContain('Environment="PATH=/usr/bin:/bin"\n')
    expect(unit).toContain('ExecStart=/usr/bin/env "pg_autoctl" "run" "--pgdata" "/srv/100%%$$x"\n')
    expect(unit).toContain('Restart=always\n')
    expect(unit).toContain('WantedBy=multi-user.target\n')
    expect(() => systemdUnit({ name: 'x', user: 'root', argv: ['a\nb'] })).toThrow(/line break/)
  })
})
