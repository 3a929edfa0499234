// The per-VM compose projects, rendered by docker-compose itself (`config` needs no daemon)
// from the env files generated for three VMs (test/fixtures/three-vms.yml, the example's shape):
// image, volume layout, user, pg_autoctl command line, restart/health/stop settings, and
// passwords only in the environment.
// docker-compose comes from deploy/scripts/bootstrap.sh; without it these tests fail.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import YAML from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { COMPOSE_DIR, DEFAULT_DOCKER_IMAGE, IMAGE, composeFilesFor, renderEnvFile } from '../../scripts/lib/compose-env.mjs'
import { parseInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir } from '../support/run-script.mjs'

const run = promisify(execFile)
const PINNED_IMAGE = 'citusdata/pg_auto_failover:v2.0-pg15'
const secrets = {
  monitor_password: 'monitor-Secret-0123456789',
  replication_password: 'replication-Secret-9876543210',
  app_password: 'app-Secret-unused-000000',
}
const threeVmsFile = path.join(deployDir, 'test/fixtures/three-vms.yml')

/**
 * An inventory document as YAML parses it; the cases below change it freely, into invalid shapes too.
 * @typedef {any} InventoryDoc
 */
/** @typedef {ReturnType<typeof composeFilesFor>[number]} ComposeEntry */
/** @typedef {import('../../lib/errors.mjs').InputError} InputError */
/**
 * A service of `docker-compose config`'s output: the fields these tests read.
 * @typedef {{image: string, container_name: string, user: string, network_mode: string, restart: string,
 *   stop_grace_period: string, healthcheck: {test: string[]}, volumes: [string, ...string[]],
 *   environment: Record<string, string> & {PGDATA: string}, command: string[]}} ComposeService
 */
/**
 * `docker-compose config` of one project: a project holds one of the two services.
 * @typedef {{services: {monitor?: ComposeService, node?: ComposeService}, volumes: {pgdata: {name: string}}}} ComposeConfig
 */

/** @type {string} */
let dir
/** @type {InventoryDoc} */
let threeVmsDoc
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-compose-'))
  threeVmsDoc = YAML.parse(await fs.readFile(threeVmsFile, 'utf8'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/**
 * The three-VM inventory, optionally changed; parsed as if it lived in the temp dir.
 * @param {(doc: InventoryDoc) => void} [mutate]
 */
function inventoryWith(mutate = () => {}) {
  const doc = structuredClone(threeVmsDoc)
  mutate(doc)
  return parseInventory(doc, path.join(dir, 'inventory.yml'))
}

/**
 * `docker-compose config` of one generated project, parsed; only the env file feeds it.
 * @param {ComposeEntry} entry
 * @returns {Promise<ComposeConfig>}
 */
async function render(entry) {
  const envFile = path.join(dir, `${entry.project}.env`)
  await fs.writeFile(envFile, entry.envText, { mode: 0o600 })
  const { stdout, stderr } = await run(
    'docker-compose',
    ['--project-name', entry.project, '-f', entry.composeFile, '--env-file', envFile, 'config'],
    {
      env: { PATH: process.env.PATH, HOME: dir },
    },
  )
  expect(stderr).not.toMatch(/variable is not set/i)
  return YAML.parse(stdout)
}

/** The service of a rendered project, which must hold it. @param {ComposeConfig} config @param {'monitor' | 'node'} service */
function serviceOf(config, service) {
  const svc = config.services[service]
  if (!svc) throw new Error(`the rendered project has no service ${service}`)
  return svc
}

/** @param {string[]} argv @param {string} option */
const after = (argv, option) => argv[argv.indexOf(option) + 1]
/** @param {unknown} duration */
const seconds = (duration) =>
  [...String(duration).matchAll(/(\d+)(h|ms|m|s)/g)].reduce(
    (sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1, ms: 0.001 }[/** @type {'h' | 'm' | 's' | 'ms'} */ (unit)],
    0,
  )

describe('compose files', () => {
  it('has docker-compose installed (bootstrap.sh installs it)', async () => {
    const { stdout } = await run('docker-compose', ['version', '--short'])
    expect(stdout.trim()).toMatch(/^\d+\.\d+/)
  })

  it('pins a published image tag by default', () => {
    expect(DEFAULT_DOCKER_IMAGE).toBe(PINNED_IMAGE)
    expect(inventoryWith().docker).toEqual({ image: PINNED_IMAGE, dir: '/opt/pg-ha-kit' })
  })

  it('renders one project per host of the three-VM inventory, VM3 carrying two', async () => {
    const inventory = inventoryWith()
    const entries = composeFilesFor(inventory, secrets)
    expect(entries.map((e) => [e.host.address, e.service, e.project])).toEqual([
      ['10.0.0.13', 'monitor', 'pgha-monitor-5432'],
      ['10.0.0.11', 'node', 'pgha-node-5432'],
      ['10.0.0.12', 'node', 'pgha-node-5432'],
      ['10.0.0.13', 'node', 'pgha-node-5433'],
    ])

    for (const entry of entries) {
      const { host, service } = entry
      expect(entry.composeFile).toBe(path.join(COMPOSE_DIR, service, 'docker-compose.yml'))
      expect(entry.remoteDir).toBe(`/opt/pg-ha-kit/${entry.project}`)
      expect(entry.remoteEnvFile).toBe(`/opt/pg-ha-kit/${entry.project}/.env`)
      expect(entry.remoteComposeFile).toBe(`/opt/pg-ha-kit/${entry.project}/docker-compose.yml`)

      const config = await render(entry)
      expect(Object.keys(config.services)).toEqual([service])
      const svc = serviceOf(config, service)
      const what = `${host.host} (${entry.project})`

      expect(svc.image, what).toBe(PINNED_IMAGE)
      expect(svc.container_name, what).toBe(entry.project)
      expect(entry.container.name).toBe(entry.project)
      expect(svc.user, what).toBe('docker')
      expect(entry.container.user).toBe('docker')
      expect(svc.network_mode, what).toBe('host')
      expect(svc.restart, what).toMatch(/^(unless-stopped|always)$/)
      expect(seconds(svc.stop_grace_period), what).toBeGreaterThanOrEqual(60)
      expect(svc.healthcheck.test, what).toEqual(['CMD', 'pg_isready', '-q', '-h', '/var/run/postgresql', '-p', String(host.port)])

      // The volume on PGDATA's parent, PGDATA one level down; pg_autoctl's files on it too. A
      // data node also mounts the project's keeper-guard, read-only; both the project's tls/.
      expect(svc.volumes, what).toHaveLength(service === 'node' ? 3 : 2)
      if (service === 'node') {
        expect(svc.volumes[1], what).toMatch(/\/keeper-guard:\/usr\/local\/lib\/pgha\/keeper-guard:ro$/)
      }
      // ssl: ca's files, read-only (an empty directory otherwise).
      expect(svc.volumes.at(-1), what).toMatch(/\/tls:\/etc\/pgha-tls:ro$/)
      const [volume, target] = svc.volumes[0].split(':')
      expect(volume).toBe('pgdata')
      expect(target).toBe('/var/lib/postgres')
      expect(config.volumes.pgdata.name).toBe(`${entry.project}-data`)
      expect(entry.container.volume).toBe(`${entry.project}-data`)
      const env = svc.environment
      expect(env.PGDATA).toBe('/var/lib/postgres/pgaf')
      expect(env.PGDATA).not.toBe(target)
      expect(path.posix.dirname(env.PGDATA)).toBe(target)
      expect(entry.container.pgdata).toBe(env.PGDATA)
      for (const key of ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'PGPASSFILE']) {
        expect(`${env[key]}/`.startsWith(`${target}/`), `${key}=${env[key]} on the volume`).toBe(true)
      }
      expect(env.PGPORT).toBe(String(host.port))

      // pg_autoctl create ... --run, addressed as the VM itself; a data node's under the guard.
      const cmd = svc.command
      expect(cmd.slice(0, 2)).toEqual(['sh', '-c'])
      if (service === 'node') expect(cmd.slice(4, 8), what).toEqual(['/usr/local/lib/pgha/keeper-guard', env.PGDATA, '--', 'pg_autoctl'])
      const argv = cmd.slice(cmd.indexOf('pg_autoctl'))
      expect(argv.slice(0, 3), what).toEqual(['pg_autoctl', 'create', service === 'monitor' ? 'monitor' : 'postgres'])
      expect(argv.at(-1)).toBe('--run')
      expect(after(argv, '--hostname'), what).toBe(host.address)
      expect(after(argv, '--pgport'), what).toBe(String(host.port))
      expect(after(argv, '--pgdata')).toBe(env.PGDATA)
      expect(after(argv, '--auth')).toBe('scram-sha-256')
      expect(argv).toContain('--no-ssl')
      if (service === 'node') {
        expect(after(argv, '--name')).toBe(host.nodeName)
        expect(after(argv, '--formation')).toBe('default')
        expect(after(argv, '--dbname')).toBe('app')
        expect(after(argv, '--monitor')).toBe(
          'postgres://autoctl_node@10.0.0.13:5432/pg_auto_failover?sslmode=prefer&keepalives=1&keepalives_idle=1&keepalives_interval=1&keepalives_count=1&tcp_user_timeout=3000',
        )
        expect(argv).toContain(
          host.candidatePriority === undefined ? '--candidate-priority=' : `--candidate-priority=${host.candidatePriority}`,
        )
      }

      // Passwords reach the container through its environment, never its command line.
      const rendered = JSON.stringify(cmd)
      for (const secret of Object.values(secrets)) expect(rendered).not.toContain(secret)
      expect(env.PGHA_MONITOR_PASSWORD).toBe(secrets.monitor_password)
      expect(env.PGHA_REPLICATION_PASSWORD).toBe(secrets.replication_password)
      expect(env.PGHA_FAILOVER_PROFILE).toBe('default')
    }

    const vm3 = entries.filter((e) => e.host.address === '10.0.0.13')
    expect(vm3.map((e) => e.project)).toEqual(['pgha-monitor-5432', 'pgha-node-5433'])
    expect(new Set(vm3.map((e) => e.container.volume)).size).toBe(2)
    expect(new Set(vm3.map((e) => e.remoteDir)).size).toBe(2)
  })

  it('writes the passfile from the environment and leaves unset options to pg_autoctl', async () => {
    const entries = composeFilesFor(inventoryWith(), secrets)
    const stub = path.join(dir, 'pg_autoctl-stub')
    await fs.writeFile(stub, '#!/bin/sh\nprintf "%s\\n" "$@"\n', { mode: 0o755 })

    for (const entry of entries) {
      const { command, environment } = serviceOf(await render(entry), entry.service)
      // What the container runs: compose turns "$$" into "$".
      const [, , script, name, , ...args] = command.map((part) => part.replaceAll('$$', '$'))
      if (script === undefined || name === undefined) throw new Error(`unexpected command ${JSON.stringify(command)}`)
      const passfile = path.join(dir, `${entry.project}.pgpass`)
      const { stdout } = await run('sh', ['-c', script, name, stub, ...args], {
        env: {
          PATH: process.env.PATH,
          PGPASSFILE: passfile,
          PGHA_MONITOR_PASSWORD: environment.PGHA_MONITOR_PASSWORD,
          PGHA_REPLICATION_PASSWORD: environment.PGHA_REPLICATION_PASSWORD,
        },
      })
      const ran = stdout.trimEnd().split('\n')
      expect(ran).toEqual(args.filter((arg) => !/^--[a-z-]+=$/.test(arg)))
      expect(ran.some((arg) => arg.endsWith('='))).toBe(false)
      if (entry.host.nodeName === 'node3') expect(ran).toContain('--candidate-priority=10')
      if (entry.host.nodeName === 'node1') expect(ran.some((arg) => arg.startsWith('--candidate-priority'))).toBe(false)

      expect(await fs.readFile(passfile, 'utf8')).toBe(
        [
          `*:*:pg_auto_failover:autoctl_node:${secrets.monitor_password}`,
          `*:*:replication:pgautofailover_replicator:${secrets.replication_password}`,
          `*:*:*:pgautofailover_replicator:${secrets.replication_password}`,
          '',
        ].join('\n'),
      )
      expect((await fs.stat(passfile)).mode & 0o777).toBe(0o600)
    }

    // Without a password the container stops before pg_autoctl starts.
    const firstNode = entries[1]
    if (!firstNode) throw new Error('no project for the first data node')
    const { command } = serviceOf(await render(firstNode), 'node')
    const [, , script, name, , ...args] = command.map((part) => part.replaceAll('$$', '$'))
    if (script === undefined || name === undefined) throw new Error(`unexpected command ${JSON.stringify(command)}`)
    const failed = await run('sh', ['-c', script, name, stub, ...args], {
      env: { PATH: process.env.PATH, PGPASSFILE: path.join(dir, 'none.pgpass') },
    }).then(
      () => null,
      (error) => error,
    )
    expect(failed?.code).not.toBe(0)
    expect(failed?.stdout).toBe('')
  })

  it('passes candidate priority, replication quorum, TLS and the profile from the inventory', async () => {
    const inventory = inventoryWith((doc) => {
      Object.assign(doc.all.vars, { ssl: 'self-signed', failover_profile: 'fast' })
      doc.all.children.nodes.hosts.vm2.replication_quorum = false
    })
    const entries = composeFilesFor(inventory, secrets)
    const vm2 = entries.find((e) => e.host.host === 'vm2')
    if (!vm2) throw new Error('no project for vm2')
    expect(vm2.env).toMatchObject({
      PGHA_REPLICATION_QUORUM: 'false',
      PGHA_CANDIDATE_PRIORITY: '',
      PGHA_SSL: 'self-signed',
      PGHA_SSL_OPTION: '--ssl-self-signed',
      PGHA_FAILOVER_PROFILE: 'fast',
    })
    const argv = serviceOf(await render(vm2), 'node').command
    expect(argv).toContain('--replication-quorum=false')
    expect(argv).toContain('--ssl-self-signed')
    expect(argv).not.toContain('--no-ssl')
    expect(after(argv, '--monitor')).toBe(
      'postgres://autoctl_node@10.0.0.13:5432/pg_auto_failover?sslmode=require&keepalives=1&keepalives_idle=1&keepalives_interval=1&keepalives_count=1&tcp_user_timeout=1000',
    )
  })

  it('with ssl: ca gives pg_autoctl the copied CA, certificate and key, and the monitor URI verify-full', async () => {
    const inventory = inventoryWith((doc) => Object.assign(doc.all.vars, { runtime: 'docker', ssl: 'ca' }))
    const tls = '/var/lib/postgres/.pgha/tls'
    for (const entry of composeFilesFor(inventory, secrets)) {
      expect(entry.env).toMatchObject({
        PGHA_SSL: 'ca',
        PGHA_SSL_OPTION: '--ssl-mode=verify-full',
        PGHA_SSL_CA_FILE: `${tls}/ca.crt`,
        PGHA_SERVER_CERT: `${tls}/server.crt`,
        PGHA_SERVER_KEY: `${tls}/server.key`,
      })
      const argv = serviceOf(await render(entry), entry.service).command
      expect(argv).toEqual(
        expect.arrayContaining([
          '--ssl-mode=verify-full',
          `--ssl-ca-file=${tls}/ca.crt`,
          `--server-cert=${tls}/server.crt`,
          `--server-key=${tls}/server.key`,
        ]),
      )
      expect(argv).not.toContain('--no-ssl')
      if (entry.service === 'node') {
        expect(after(argv, '--monitor')).toMatch(/\?sslmode=verify-full&sslrootcert=\/var\/lib\/postgres\/\.pgha\/tls\/ca\.crt&/)
      }
    }
    // Without ssl: ca the options are empty, and the command drops them.
    const plain = composeFilesFor(inventoryWith(), secrets)[0]
    if (!plain) throw new Error('no project for the monitor')
    expect(plain.env.PGHA_SSL_CA_FILE).toBeUndefined()
    expect(serviceOf(await render(plain), 'monitor').command).toContain('--ssl-ca-file=')
  })

  it('uses the docker_image and docker_dir configured in the inventory', async () => {
    const image = 'registry.example.com:5000/team/pg_auto_failover:v2.0-pg15-patched'
    const inventory = inventoryWith((doc) =>
      // Over ssh: in the lab (netns) docker_dir must stay the default.
      Object.assign(doc.all.vars, {
        runtime: 'docker',
        docker_image: image,
        docker_dir: '/srv/pgha',
        transport: 'ssh',
        ssh_accept_new_host_keys: true,
      }),
    )
    expect(inventory.docker).toEqual({ image, dir: '/srv/pgha' })
    // Docker keeps PGDATA inside each container: VM3's two hosts share the path, not the volume.
    expect([inventory.monitor, ...inventory.nodes].map((h) => h.pgdata)).toEqual(Array(4).fill(IMAGE.pgdata))
    for (const entry of composeFilesFor(inventory, secrets)) {
      expect(entry.env.PGHA_IMAGE).toBe(image)
      expect(entry.remoteDir).toBe(`/srv/pgha/${entry.project}`)
      expect(serviceOf(await render(entry), entry.service).image).toBe(image)
    }
  })

  /** @type {Array<[name: string, mutate: (doc: InventoryDoc) => void, key: string, message: RegExp]>} */
  const rejected = [
    [
      'docker_image without a tag',
      (doc) => {
        doc.all.vars.docker_image = 'citusdata/pg_auto_failover'
      },
      'all.vars.docker_image',
      /must be an image reference with a tag or digest/,
    ],
    [
      'docker_image in upper case',
      (doc) => {
        doc.all.vars.docker_image = 'CitusData/pg_auto_failover:v2.0'
      },
      'all.vars.docker_image',
      /must be an image reference/,
    ],
    [
      'docker_image with shell syntax',
      (doc) => {
        doc.all.vars.docker_image = 'pg:v2; rm -rf /'
      },
      'all.vars.docker_image',
      /must be an image reference/,
    ],
    [
      'docker_image not a string',
      (doc) => {
        doc.all.vars.docker_image = 15
      },
      'all.vars.docker_image',
      /must be an image reference/,
    ],
    [
      'a relative docker_dir',
      (doc) => {
        doc.all.vars.docker_dir = 'opt/pgha'
      },
      'all.vars.docker_dir',
      /must be an absolute path/,
    ],
    [
      'docker_dir /',
      (doc) => {
        doc.all.vars.docker_dir = '/'
      },
      'all.vars.docker_dir',
      /must be an absolute path/,
    ],
    [
      'docker_dir with ..',
      (doc) => {
        doc.all.vars.docker_dir = '/opt/../etc'
      },
      'all.vars.docker_dir',
      /without "\.\."/,
    ],
    [
      'docker_dir with a space',
      (doc) => {
        doc.all.vars.docker_dir = '/opt/pg ha'
      },
      'all.vars.docker_dir',
      /must be an absolute path/,
    ],
    [
      'pgdata with runtime docker',
      (doc) => {
        doc.all.vars.runtime = 'docker'
        doc.all.children.nodes.hosts.vm1.pgdata = '/data/pg'
      },
      'all.children.nodes.hosts.vm1.pgdata',
      /runtime "docker" keeps PGDATA at \/var\/lib\/postgres\/pgaf/,
    ],
  ]
  for (const [name, mutate, key, message] of rejected) {
    it(`rejects ${name} with an InputError naming the key`, () => {
      /** @type {InputError | undefined} */
      let error
      try {
        inventoryWith(mutate)
      } catch (caught) {
        error = /** @type {InputError} */ (caught)
      }
      expect(error?.name).toBe('InputError')
      expect(error?.code).toBe('INPUT_INVALID')
      expect(error?.key).toBe(key)
      expect(error?.message).toMatch(message)
      expect(error?.message).toContain(path.join(dir, 'inventory.yml'))
    })
  }

  it('renders env files that every parser reads alike, refusing values that would not be', () => {
    const [monitor] = composeFilesFor(inventoryWith(), secrets)
    if (!monitor) throw new Error('no project for the monitor')
    const lines = monitor.envText.split('\n').filter((line) => line && !line.startsWith('#'))
    expect(Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))).toEqual(
      monitor.env,
    )
    expect(monitor.env).toMatchObject({ COMPOSE_PROJECT_NAME: 'pgha-monitor-5432', PGHA_HOSTNAME: '10.0.0.13', PGHA_PGPORT: '5432' })
    expect(monitor.env).not.toHaveProperty('PGHA_MONITOR_URI')

    for (const [value, message] of /** @type {Array<[string, RegExp]>} */ ([
      ['a\nb', /newline/],
      ['a\rb', /newline/],
      ["it's", /must only contain/],
      ['$HOME', /must only contain/],
      ['a #b', /must only contain/],
    ])) {
      expect(() => renderEnvFile({ PGHA_X: value })).toThrow(
        expect.objectContaining({ name: 'InputError', key: 'PGHA_X', message: expect.stringMatching(message) }),
      )
    }
    expect(() => renderEnvFile({ 'bad-key': 'x' })).toThrow(/not a valid environment variable name/)
  })

  it('refuses to render without the passwords, naming the secret', () => {
    const inventory = inventoryWith()
    // The secrets map with the password unset, which its type does not allow: what is tested here.
    const withoutReplication = /** @type {Record<string, string>} */ (
      /** @type {unknown} */ ({ ...secrets, replication_password: undefined })
    )
    expect(() => composeFilesFor(inventory, withoutReplication)).toThrow(
      expect.objectContaining({ name: 'InputError', key: 'replication_password' }),
    )
  })
})
