// Runtime "docker": each pg_auto_failover host is a compose project on its VM
// (deploy/compose/{monitor,node}, filled in by the `.env` compose-env.mjs generates). The
// container's command is `pg_autoctl create ... --run`, so `docker compose up -d` both creates a
// node and, later, resumes it; everything else is the shared pg_autoctl/psql work run inside the
// container with `docker exec` as the image's user. Host-side commands run as root.
import fs from 'node:fs/promises'
import path from 'node:path'
import { COMPOSE_DIR, composeFilesFor, containerFor } from '../compose-env.mjs'
import { KEEPER_GUARD_SCRIPT } from '../keeper-guard.mjs'
import { WRITE_IF_CHANGED_SH } from '../../../lib/shell.mjs'
import { waitFor } from '../../../lib/wait-for.mjs'
import { createPgAutoctlCore } from './pg-autoctl-core.mjs'
import { CONTAINER_TLS_FILES, CONTAINER_TLS_MOUNT } from '../pki.mjs'

const REPO_ROOT = path.resolve(COMPOSE_DIR, '../..')
// `docker compose` (v2 plugin) where it exists, else the standalone `docker-compose`; $1 is the
// project directory, the rest compose's arguments.
const COMPOSE_SH =
  'cd "$1" && shift && if docker compose version >/dev/null 2>&1; then exec docker compose "$@"; else exec docker-compose "$@"; fi'

/**
 * @typedef {import('../transports/transport.mjs').Host} Host
 * @typedef {import('./pg-autoctl-core.mjs').PgOptions} PgOptions
 */

/**
 * @param {import('../inventory.mjs').Inventory} inventory
 * @param {import('../transports/transport.mjs').Transport} transport
 * @param {Record<string, string>} secrets the env files carry the monitor and replication passwords
 * @returns {import('./runtime.mjs').Runtime}
 */
export function createDockerRuntime(inventory, transport, secrets) {
  /** The host's compose project. @param {Host} host */
  const projectOf = (host) => {
    const project = composeFilesFor(inventory, secrets).find((p) => p.host === host)
    if (!project) throw new Error(`${host.host} is not a host of the inventory ${inventory.file}: no compose project for it`)
    return project
  }
  const core = createPgAutoctlCore(inventory, {
    exec: (host, argv, { input }) =>
      transport.run(host, ['docker', 'exec', '-i', '-u', containerFor(host).user, containerFor(host).name, ...argv], {
        user: 'root',
        input,
      }),
  })

  /**
   * A command on the VM itself, as root; throws with its own error when it fails.
   * @param {Host} host @param {string[]} argv @param {PgOptions} [options]
   */
  async function onHost(host, argv, { input, inputLabel, allowFailure = false } = {}) {
    const out = await transport.run(host, argv, { user: 'root', input, inputLabel })
    if (out.exitCode !== 0 && !allowFailure) {
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join(' | ')
      throw new Error(`${argv.slice(0, 3).join(' ')} on ${host.host} exited ${out.exitCode}: ${detail}`)
    }
    return out
  }
  /** @param {Host} host @param {string[]} args compose's @param {PgOptions} [options] */
  const compose = (host, args, options) => onHost(host, ['sh', '-c', COMPOSE_SH, 'compose', projectOf(host).remoteDir, ...args], options)

  /** @param {Host} host */
  async function isRunning(host) {
    const out = await onHost(host, ['docker', 'inspect', '--format', '{{.State.Running}}', containerFor(host).name], { allowFailure: true })
    return out.exitCode === 0 && out.stdout.trim() === 'true'
  }

  /**
   * `up -d`: creates, re-creates (after a change to the compose file or .env) or starts the container.
   * @param {Host} host @returns {Promise<boolean>} whether it was started now
   */
  async function up(host) {
    const wasRunning = await isRunning(host)
    const out = await compose(host, ['up', '--detach', '--remove-orphans'])
    return !wasRunning || /\b(Creat|Recreat|Start)/i.test(`${out.stdout}\n${out.stderr}`)
  }

  /**
   * A container just started runs `pg_autoctl create` first; later steps need it finished. A
   * create that fails exits the container, which its restart policy starts again: the first
   * restart ends the wait with the container's last lines, not a timeout minutes later.
   * A monitor's create is done only once it has admitted the nodes' subnet in pg_hba.conf, its
   * last step after its configuration is in place: before that, bring-up's pg_hba step would
   * race pg_autoctl's own rewrite of the file and could drop the rule.
   * @param {Host} host
   */
  async function upAndCreated(host) {
    await up(host)
    const { name } = containerFor(host)
    const done =
      host.role === 'monitor'
        ? async () =>
            (await core.isInitialized(host)) &&
            (await core.pg(host, ['grep', '-q', 'autoctl_node', `${host.pgdata}/pg_hba.conf`], { allowFailure: true })).exitCode === 0
        : () => core.isInitialized(host)
    /** @type {string | null} */
    let failed = null
    await waitFor(
      async () => {
        if (await done()) return true
        const restarts = await onHost(host, ['docker', 'inspect', '--format', '{{.RestartCount}}', name], { allowFailure: true })
        if (Number(restarts.stdout.trim()) > 0) {
          // The first errors are the cause; pg_autoctl's supervisor then retries and gives up
          // with errors of its own, and the restarted create is already logging again.
          const logs = await onHost(host, ['docker', 'logs', '--tail', '300', name], { allowFailure: true })
          const lines = `${logs.stdout}\n${logs.stderr}`.split('\n').filter((line) => line.trim() !== '')
          const errors = lines.filter((line) => /\b(ERROR|FATAL)\b/.test(line))
          failed = (errors.length > 0 ? errors.slice(0, 3) : lines.slice(-6)).join(' | ')
          return true
        }
        return false
      },
      { timeoutMs: 300_000, what: `pg_autoctl create in ${name} on ${host.host}` },
    )
    if (failed !== null) {
      throw new Error(
        `pg_autoctl create failed in ${name} on ${host.host} (the container restarts it): ${failed}. Fix the cause and run again: the next run re-creates what is half-made`,
      )
    }
  }

  /** The project's keeper-guard (0755). @param {Host} host @returns {Promise<boolean>} whether it changed */
  async function writeKeeperGuard(host) {
    const out = await onHost(host, ['sh', '-c', WRITE_IF_CHANGED_SH, 'write', `${projectOf(host).remoteDir}/keeper-guard`, '0755'], {
      input: KEEPER_GUARD_SCRIPT,
      inputLabel: 'deploy/scripts/lib/keeper-guard.sh',
    })
    return !out.stdout.includes('unchanged')
  }

  /** @param {Host} host */
  async function stopService(host) {
    if (!(await isRunning(host))) return false
    await compose(host, ['stop'])
    return true
  }

  /**
   * The daemon answers and holds the image: this kit never pulls, so a missing image is the
   * operator's to load, not a pull that hangs on an air-gapped VM.
   * @param {Host} host
   */
  async function ensureReady(host) {
    const version = await onHost(host, ['docker', 'version', '--format', '{{.Server.Version}}'], { allowFailure: true })
    if (version.exitCode !== 0) {
      const said = (version.stderr.trim() || version.stdout.trim()).split('\n').slice(-1)[0]
      throw new Error(
        `no Docker daemon answers on ${host.host} (${host.address}): "docker version" said: ${said}. Start it there (systemctl start docker), or use runtime: native`,
      )
    }
    const image = inventory.docker.image
    const found = await onHost(host, ['docker', 'image', 'inspect', '--format', '{{.Id}}', image], { allowFailure: true })
    if (found.exitCode !== 0) {
      throw new Error(
        `the image ${image} (docker_image) is not on ${host.host} (${host.address}), and bring-up never pulls: docker pull it there, or load the archive npm run image writes (docker load -i /var/lib/pg-ha-kit/images/<file>.tar)`,
      )
    }
    return `dockerd ${version.stdout.trim() || '(version not read)'}, ${image}`
  }

  return {
    ...core,
    name: 'docker',
    ensureReady,
    credentialsLabel: 'the compose project: docker-compose.yml, .env (0600)',
    keeperGuardLabel: 'keeper-guard in the compose project',
    serviceName: (/** @type {Host} */ host) => containerFor(host).name,

    createMonitor: upAndCreated,
    createNode: upAndCreated,

    /**
     * The compose project on the VM: docker-compose.yml and .env (0600, the passwords the
     * container writes into its passfile at start). A changed .env re-creates the container at
     * the next `up`.
     * @param {Host} host
     */
    async ensurePassfile(host) {
      const project = projectOf(host)
      await onHost(host, ['mkdir', '-p', '-m', '0700', project.remoteDir])
      const composeText = await fs.readFile(project.composeFile, 'utf8')
      const composeFile = await onHost(host, ['sh', '-c', WRITE_IF_CHANGED_SH, 'write', project.remoteComposeFile, '0644'], {
        input: composeText,
        inputLabel: path.relative(REPO_ROOT, project.composeFile),
      })
      const envFile = await onHost(host, ['sh', '-c', WRITE_IF_CHANGED_SH, 'write', project.remoteEnvFile, '0600'], {
        input: project.envText,
      })
      // Before the container exists: a bind mount of a missing file would become a directory.
      const guard = host.role === 'node' ? await writeKeeperGuard(host) : false
      return !composeFile.stdout.includes('unchanged') || !envFile.stdout.includes('unchanged') || guard
    },
    /** Bind-mounted by the node's compose file; written with the project (ensurePassfile). @param {Host} host */
    async ensureKeeperGuard(host) {
      return writeKeeperGuard(host)
    },
    /**
     * ssl: ca: the CA, the host's certificate and key in the project's tls/ (mounted read-only on
     * CONTAINER_TLS_MOUNT), through stdin; a file that already holds the same text is left alone.
     * The key is 0644 so that the image's user can read it through the mount: on the VM the
     * project directory (0700, root) guards it. The container copies them to its volume at start
     * (0600, its own); a running one gets the new ones copied now (bring-up then reloads Postgres).
     * @param {Host} host @param {import('./runtime.mjs').TlsFiles} files
     */
    async ensureTlsFiles(host, files) {
      const dir = `${projectOf(host).remoteDir}/tls`
      await onHost(host, ['mkdir', '-p', '-m', '0755', dir])
      let changed = false
      for (const [what, name] of /** @type {const} */ ([
        ['ca', 'ca.crt'],
        ['cert', 'server.crt'],
        ['key', 'server.key'],
      ])) {
        const out = await onHost(host, ['sh', '-c', WRITE_IF_CHANGED_SH, 'write', `${dir}/${name}`, '0644'], {
          input: files[what].text,
          inputLabel: files[what].from,
        })
        if (!out.stdout.includes('unchanged')) changed = true
      }
      if (changed && (await isRunning(host))) {
        const from = ['ca.crt', 'server.crt', 'server.key'].map((name) => `${CONTAINER_TLS_MOUNT}/${name}`).join(' ')
        await core.pg(host, ['sh', '-c', `umask 077 && mkdir -p ${CONTAINER_TLS_FILES.dir} && cp ${from} ${CONTAINER_TLS_FILES.dir}/`])
      }
      return changed
    },
    /** @param {Host} host @returns {Promise<boolean>} whether the project directory (with the .env) was there */
    async removePassfile(host) {
      const dir = projectOf(host).remoteDir
      const out = await onHost(host, ['sh', '-c', 'if test -e "$1"; then echo removed; fi; rm -rf "$1"', 'remove', dir])
      return out.stdout.includes('removed')
    },

    ensureRunning: up,
    isRunning,
    stopService,
    stopNode: stopService,
    /** @param {Host} host */
    async removeService(host) {
      const dir = projectOf(host).remoteDir
      await onHost(host, [
        'sh',
        '-c',
        `test -f "$1/docker-compose.yml" || exit 0; ${COMPOSE_SH}`,
        'compose',
        dir,
        'down',
        '--remove-orphans',
      ])
    },
    /** The container (stopped or not) and its volume. @param {Host} host @returns {Promise<boolean>} whether the volume existed */
    async destroyData(host) {
      const { name, volume } = containerFor(host)
      await onHost(host, ['docker', 'rm', '--force', name], { allowFailure: true })
      const exists = (await onHost(host, ['docker', 'volume', 'inspect', volume], { allowFailure: true })).exitCode === 0
      if (exists) await onHost(host, ['docker', 'volume', 'rm', volume])
      return exists
    },
  }
}
