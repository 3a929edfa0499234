// Runtime "native": Postgres and pg_autoctl from Debian packages, run as the `postgres` user,
// the keeper supervised as a service of the host (the transport decides what that means).
import { quote } from 'zx'
import { createPgAutoctlCore, passfileContent } from './pg-autoctl-core.mjs'

const PG_USER = 'postgres'

/**
 * @param {ReturnType<typeof import('../inventory.mjs').parseInventory>} inventory
 * @param {ReturnType<typeof import('../transports/index.mjs').createTransport>} transport
 */
export function createNativeRuntime(inventory, transport) {
  const env = { PATH: `${inventory.pgBindir}:/usr/local/bin:/usr/bin:/bin` }
  const serviceName = (host) => `pgautofailover-${host.role}-${host.port}`
  const core = createPgAutoctlCore(inventory, {
    exec: (host, argv, { input }) => transport.run(host, argv, { user: PG_USER, env, input }),
  })
  const { pg } = core

  return {
    ...core,
    name: 'native',
    credentialsLabel: '~postgres/.pgpass (0600)',
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

    async ensureRunning(host) {
      return transport.ensureService(host, { name: serviceName(host), user: PG_USER, argv: ['pg_autoctl', 'run', '--pgdata', host.pgdata], env })
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
      const leftover = await pg(host, ['sh', '-c', `test -f ${pgdata}/postmaster.pid && pg_ctl -D ${pgdata} status >/dev/null 2>&1 && pg_ctl -D ${pgdata} stop -m fast -w >/dev/null 2>&1 && echo stopped || true`])
      return keeper || leftover.stdout.includes('stopped')
    },
    async removeService(host) {
      await transport.removeService(host, serviceName(host))
    },
    /** @returns {Promise<boolean>} whether the data directory existed */
    async destroyData(host) {
      const pgdata = quote(host.pgdata)
      const out = await pg(host, ['sh', '-c', `if test -e ${pgdata}; then echo existed; fi; rm -rf ${pgdata} "$HOME/.config/pg_autoctl${host.pgdata}" "$HOME/.local/share/pg_autoctl${host.pgdata}"`])
      return out.stdout.includes('existed')
    },
  }
}
