// Runtime "native": Postgres and pg_autoctl from Debian packages, run as the `postgres` user,
// the keeper supervised as a service of the host (the transport decides what that means).
import { WRITE_IF_CHANGED_SH, shellQuote as quote } from '../../../lib/shell.mjs'
import { KEEPER_GUARD_SCRIPT } from '../keeper-guard.mjs'
import { HOST_TLS_FILES } from '../pki.mjs'
import { createPgAutoctlCore, passfileContent } from './pg-autoctl-core.mjs'

const PG_USER = 'postgres'
// keeper-guard.sh (why: its header) on every data node, in the Postgres user's home.
export const KEEPER_GUARD_PATH = '/var/lib/postgresql/.pgha/keeper-guard'

/**
 * @param {ReturnType<typeof import('../inventory.mjs').parseInventory>} inventory
 * @param {import('../transports/transport.mjs').Transport} transport
 * @returns {import('./runtime.mjs').Runtime}
 */
export function createNativeRuntime(inventory, transport) {
  const env = { PATH: `${inventory.pgBindir}:/usr/local/bin:/usr/bin:/bin` }
  /** @param {import('../transports/transport.mjs').Host} host */
  const serviceName = (host) => `pgautofailover-${host.role}-${host.port}`
  const core = createPgAutoctlCore(inventory, {
    exec: (host, argv, { input, inputLabel }) => transport.run(host, argv, { user: PG_USER, env, input, inputLabel }),
  })
  const { pg } = core

  return {
    ...core,
    name: 'native',
    credentialsLabel: '~postgres/.pgpass (0600)',
    keeperGuardLabel: KEEPER_GUARD_PATH,
    serviceName,

    async createMonitor(host) {
      await pg(host, core.createArgv(host))
    },
    async createNode(host) {
      await pg(host, core.createArgv(host))
    },

    /** Passwords for the monitor and replication users, read by libpq from ~postgres/.pgpass. */
    async ensurePassfile(host, passwords) {
      const content = passfileContent(passwords)
      const current = await pg(host, ['sh', '-c', 'cat "$HOME/.pgpass" 2>/dev/null'], { allowFailure: true })
      if (current.stdout === content) return false
      await pg(host, ['sh', '-c', 'umask 077 && cat > "$HOME/.pgpass.tmp" && mv "$HOME/.pgpass.tmp" "$HOME/.pgpass"'], { input: content })
      return true
    },
    /** @returns {Promise<boolean>} whether there was one to remove */
    async removePassfile(host) {
      const out = await pg(host, ['sh', '-c', 'test -e "$HOME/.pgpass" && rm -f "$HOME/.pgpass" && echo removed || true'])
      return out.stdout.includes('removed')
    },

    /** keeper-guard.sh at KEEPER_GUARD_PATH. @returns {Promise<boolean>} whether it changed */
    async ensureKeeperGuard(host) {
      const out = await pg(host, ['sh', '-c', `mkdir -p "$(dirname "$1")" && ${WRITE_IF_CHANGED_SH}`, 'write', KEEPER_GUARD_PATH, '0755'], {
        input: KEEPER_GUARD_SCRIPT,
        inputLabel: 'deploy/scripts/lib/keeper-guard.sh',
      })
      return !out.stdout.includes('unchanged')
    },
    /**
     * ssl: ca: the CA, the host's certificate (0644) and key (0600) in HOST_TLS_FILES.dir (0700),
     * owned by postgres, through stdin; a file that already holds the same text is left alone.
     * Postgres reads them at start and reload.
     */
    async ensureTlsFiles(host, files) {
      let changed = false
      for (const [what, target, mode] of /** @type {const} */ ([
        ['ca', HOST_TLS_FILES.ca, '0644'],
        ['cert', HOST_TLS_FILES.cert, '0644'],
        ['key', HOST_TLS_FILES.key, '0600'],
      ])) {
        const out = await pg(host, ['sh', '-c', `mkdir -p -m 0700 "$(dirname "$1")" && ${WRITE_IF_CHANGED_SH}`, 'write', target, mode], {
          input: files[what].text,
          inputLabel: files[what].from,
        })
        if (!out.stdout.includes('unchanged')) changed = true
      }
      return changed
    },
    /** The monitor's pg_autoctl as it is; a data node's under the keeper guard. */
    async ensureRunning(host) {
      const keeper = ['pg_autoctl', 'run', '--pgdata', host.pgdata]
      const argv = host.role === 'node' ? [KEEPER_GUARD_PATH, host.pgdata, '--', ...keeper] : keeper
      return transport.ensureService(host, { name: serviceName(host), user: PG_USER, argv, env })
    },
    async isRunning(host) {
      return transport.serviceRunning(host, serviceName(host))
    },
    async stopService(host) {
      return transport.stopService(host, serviceName(host))
    },
    /** The keeper, and a Postgres a killed keeper may have left behind holding the data directory. */
    async stopNode(host) {
      const keeper = await transport.stopService(host, serviceName(host))
      const pgdata = quote(host.pgdata)
      const leftover = await pg(host, [
        'sh',
        '-c',
        `test -f ${pgdata}/postmaster.pid && pg_ctl -D ${pgdata} status >/dev/null 2>&1 && pg_ctl -D ${pgdata} stop -m fast -w >/dev/null 2>&1 && echo stopped || true`,
      ])
      return keeper || leftover.stdout.includes('stopped')
    },
    async removeService(host) {
      await transport.removeService(host, serviceName(host))
    },
    /** @returns {Promise<boolean>} whether the data directory existed */
    async destroyData(host) {
      const pgdata = quote(host.pgdata)
      const out = await pg(host, [
        'sh',
        '-c',
        `if test -e ${pgdata}; then echo existed; fi; rm -rf ${pgdata} "$HOME/.config/pg_autoctl${host.pgdata}" "$HOME/.local/share/pg_autoctl${host.pgdata}"`,
      ])
      return out.stdout.includes('existed')
    },
  }
}
