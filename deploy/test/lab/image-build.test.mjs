// npm run image (deploy/image/build-image.mjs) on the private dockerd of its default data root,
// which this file starts and always stops: the image carries citusdata's conventions (user
// "docker", the Postgres bindir on PATH, /var/lib/postgres owned by docker, PGDATA below it), runs
// pg_autoctl 2.0, is saved for docker load, and a second run with the same inputs builds nothing.
// The image is built once per machine and again whenever its inputs change (its tag is their
// hash), so the build is tested exactly when it can have broken; the docker runtime's lab suite
// loads the same image. Needs root, docker.io and debootstrap (deploy/scripts/bootstrap.sh) and the
// Debian mirror; a cold build takes about a minute.
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { $ } from 'zx'
import { startPrivateDockerd } from '../../image/docker-daemon.mjs'
import { DEFAULT_DATA_ROOT, IMAGE_ALIAS, IMAGE_REPOSITORY } from '../../image/image-spec.mjs'
import { runScript } from '../support/run-script.mjs'

const dir = DEFAULT_DATA_ROOT
/** @type {{host: string, stop: () => Promise<void>} | null} */
let daemon = null
/** @type {{code: number|null, stdout: string, stderr: string}} */
let first
/** @type {string} */
let image = ''

/** docker on the private daemon. @param {string[]} argv */
async function docker(argv) {
  return (await $({ env: { ...process.env, DOCKER_HOST: daemon?.host } })`docker ${argv}`.quiet()).stdout.trim()
}
/** A command in a throw-away container of the image, without network. @param {string[]} argv */
const inImage = (argv) => docker(['run', '--rm', '--network', 'none', image, ...argv])

beforeAll(async () => {
  daemon = await startPrivateDockerd(dir)
  first = await runScript('image/build-image.mjs', ['--docker-host', daemon.host], { timeoutMs: 900_000 })
  image = first.stdout.split('\n')[0] ?? ''
}, 960_000)

afterAll(async () => {
  await daemon?.stop()
  // The data root stays (the image cache); nothing may stay mounted under it.
  expect(
    fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((line) => line.includes(dir)),
  ).toEqual([])
}, 120_000)

describe('build-image.mjs', () => {
  it('builds the image, tags the stable alias and prints name, size and time', async () => {
    expect(first.code, first.stderr).toBe(0)
    expect(image).toMatch(new RegExp(`^${IMAGE_REPOSITORY}:v2\\.0-pg15-[0-9a-f]{12}$`))
    expect(first.stdout).toMatch(/^size \d+ MB$/m)
    expect(first.stdout).toMatch(/^time [\d.]+ s$/m)
    // Built now, or by an earlier run from the same inputs.
    expect(first.stderr).toMatch(/step 5: built in|already built from these inputs/)
    const archive = /^archive (.+\.tar)$/m.exec(first.stdout)?.[1]
    expect(archive && fs.statSync(archive).size).toBeGreaterThan(100e6)
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', IMAGE_ALIAS])).toBe(
      await docker(['image', 'inspect', '--format', '{{.Id}}', image]),
    )
  })

  it('runs pg_autoctl 2.0 as user docker with the Postgres bindir on PATH', async () => {
    expect(await inImage(['pg_autoctl', '--version'])).toMatch(/pg_autoctl version 2\.0/)
    expect(await inImage(['id', 'docker'])).toMatch(/^uid=\d+\(docker\) gid=\d+\(docker\) groups=.*\(postgres\)/)
    expect(await inImage(['id', '-un'])).toBe('docker')
    const env = await inImage(['env'])
    expect(env).toMatch(/^PATH=.*:\/usr\/lib\/postgresql\/15\/bin(:|$)/m)
    expect(env).toMatch(/^PGDATA=\/var\/lib\/postgres\/pgaf$/m)
    expect(await inImage(['sh', '-c', 'command -v pg_autoctl; command -v pg_ctl'])).toBe(
      '/usr/local/bin/pg_autoctl\n/usr/lib/postgresql/15/bin/pg_ctl',
    )
    expect(await inImage(['stat', '-c', '%U', '/var/lib/postgres'])).toBe('docker')
  })

  it('makes a monitor: the pgautofailover extension is installed', async () => {
    const out = await inImage([
      'sh',
      '-c',
      'pg_autoctl create monitor --auth trust --no-ssl --hostname 127.0.0.1 --pgport 5432 >/tmp/create.log 2>&1 || { cat /tmp/create.log >&2; exit 1; }; ' +
        '{ pg_ctl -D "$PGDATA" status >/dev/null || pg_ctl -D "$PGDATA" -l /tmp/pg.log -w start >/dev/null; } && ' +
        'psql -At -h /var/run/postgresql -d pg_auto_failover -c "select extversion from pg_extension where extname = \'pgautofailover\'"',
    ])
    expect(out).toBe('2.0')
  })

  it('does nothing on a second run with the same inputs', async () => {
    const before = await docker(['image', 'inspect', '--format', '{{.Id}}', image])
    const second = await runScript('image/build-image.mjs', ['--docker-host', /** @type {string} */ (daemon?.host)], { timeoutMs: 120_000 })
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toMatch(/already built from these inputs: nothing to do/)
    expect(second.stderr).not.toMatch(/step [45]/)
    expect(second.stdout.split('\n')[0]).toBe(image)
    expect(await docker(['image', 'inspect', '--format', '{{.Id}}', image])).toBe(before)
  })
})
