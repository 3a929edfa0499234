// Runtime "native": Postgres and pg_autoctl from Debian packages, run as the `postgres` user,
// the keeper supervised as a service of the host (the transport decides what that means).
import { quote } from 'zx'

const PG_USER = 'postgres'
const APP_RULE_MARK = '# pg-ha-kit: application access'
const REWIND_RULE_MARK = '# pg-ha-kit: pg_rewind source'

/**
 * @param {ReturnType<typeof import('../inventory.mjs').parseInventory>} inventory
 * @param {ReturnType<typeof import('../transports/index.mjs').createTransport>} transport
 */
export function createNativeRuntime(inventory, transport) {
  const env = { PATH: `${inventory.pgBindir}:/usr/local/bin:/usr/bin:/bin` }
  const serviceName = (host) => `pgautofailover-${host.role}-${host.port}`

  /** Runs a command as postgres on a host; throws with the command's own error when it fails. */
  async function pg(host, argv, { input, allowFailure = false } = {}) {
    const out = await transport.run(host, argv, { user: PG_USER, env, input })
    if (out.exitCode !== 0 && !allowFailure) {
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join(' | ')
      throw new Error(`${argv.slice(0, 3).join(' ')} on ${host.host} exited ${out.exitCode}: ${detail}`)
    }
    return out
  }

  /** Runs SQL through the local socket; `query` must return one json column per row. */
  async function sqlJson(host, query, { db = 'postgres' } = {}) {
    const out = await pg(host, ['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-p', String(host.port), '-d', db, '-f', '-'], {
      input: `select coalesce(json_agg(t), '[]'::json) from (${query}) t;\n`,
    })
    return JSON.parse(out.stdout.trim() || '[]')
  }

  /** Runs SQL given on stdin (so secrets in it never reach a command line). */
  async function sqlExec(host, script, { db = 'postgres' } = {}) {
    await pg(host, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-p', String(host.port), '-d', db, '-f', '-'], { input: script })
  }

  const monitorUri = () => {
    const m = inventory.monitor
    return `postgres://autoctl_node@${m.address}:${m.port}/pg_auto_failover?sslmode=${inventory.ssl === 'off' ? 'prefer' : 'require'}`
  }
  const sslArgs = () => (inventory.ssl === 'self-signed' ? ['--ssl-self-signed'] : ['--no-ssl'])

  return {
    name: 'native',
    pg,
    sqlJson,
    sqlExec,
    serviceName,

    /** Fully created: configuration present and no unfinished `pg_autoctl create`. */
    async isInitialized(host) {
      const out = await pg(host, ['sh', '-c', `test -f ${quote(host.pgdata)}/PG_VERSION && pg_autoctl config get --pgdata ${quote(host.pgdata)} pg_autoctl.role >/dev/null 2>&1 && ! test -e "$(pg_autoctl show file --init --pgdata ${quote(host.pgdata)})"`], { allowFailure: true })
      return out.exitCode === 0
    },

    async createMonitor(host) {
      await pg(host, ['pg_autoctl', 'create', 'monitor', '--pgdata', host.pgdata, '--pgport', String(host.port),
        '--hostname', host.address, '--auth', 'scram-sha-256', ...sslArgs()])
    },

    async createNode(host) {
      await pg(host, ['pg_autoctl', 'create', 'postgres', '--pgdata', host.pgdata, '--pgport', String(host.port),
        '--hostname', host.address, '--name', host.nodeName, '--formation', inventory.formation,
        '--dbname', inventory.dbname, '--monitor', monitorUri(), '--auth', 'scram-sha-256', ...sslArgs(),
        ...(host.candidatePriority === undefined ? [] : ['--candidate-priority', String(host.candidatePriority)]),
        ...(host.replicationQuorum === undefined ? [] : ['--replication-quorum', String(host.replicationQuorum)])])
    },

    /** Passwords for the monitor and replication users, read by libpq from ~postgres/.pgpass. */
    async ensurePassfile(host, { monitorPassword, replicationPassword }) {
      const content = [
        `*:*:pg_auto_failover:autoctl_node:${monitorPassword}`,
        `*:*:replication:pgautofailover_replicator:${replicationPassword}`,
        `*:*:*:pgautofailover_replicator:${replicationPassword}`,
        '',
      ].join('\n')
      const current = await pg(host, ['sh', '-c', 'cat "$HOME/.pgpass" 2>/dev/null'], { allowFailure: true })
      if (current.stdout === content) return false
      await pg(host, ['sh', '-c', 'umask 077 && cat > "$HOME/.pgpass.tmp" && mv "$HOME/.pgpass.tmp" "$HOME/.pgpass"'], { input: content })
      return true
    },

    async keeperSettings(host, keys) {
      const values = {}
      for (const key of keys) {
        values[key] = (await pg(host, ['pg_autoctl', 'config', 'get', '--pgdata', host.pgdata, key])).stdout.trim()
      }
      return values
    },
    async setKeeperSetting(host, key, value) {
      await pg(host, ['pg_autoctl', 'config', 'set', '--pgdata', host.pgdata, key, value])
    },
    async reloadKeeper(host) {
      await pg(host, ['pg_autoctl', 'reload', '--pgdata', host.pgdata], { allowFailure: true })
    },

    async ensureRunning(host) {
      return transport.ensureService(host, { name: serviceName(host), user: PG_USER, argv: ['pg_autoctl', 'run', '--pgdata', host.pgdata], env })
    },
    async isRunning(host) {
      return transport.serviceRunning(host, serviceName(host))
    },
    async acceptsSql(host) {
      const out = await pg(host, ['pg_isready', '-q', '-p', String(host.port), '-h', '/var/run/postgresql'], { allowFailure: true })
      return out.exitCode === 0
    },

    /**
     * No `trust` over TCP: pg_autoctl's initdb leaves loopback trust and adds a trust rule for
     * the monitor's health checks (which present a fixed password, so scram works for them);
     * data nodes also get the application rule for the inventory's subnet only.
     * @returns {Promise<boolean>} whether the file changed (and Postgres was reloaded)
     */
    async hardenHba(host) {
      const file = `${host.pgdata}/pg_hba.conf`
      const current = (await pg(host, ['cat', file])).stdout
      const ownRules = host.role === 'node'
        ? [
            `host "${inventory.dbname}" "${inventory.appUser}" ${inventory.networkCidr} scram-sha-256 ${APP_RULE_MARK}`,
            // pg_autoctl runs pg_rewind against the new primary's "postgres" database but only
            // admits its replicator to --dbname; without these an old primary is always rebuilt
            // with a full base backup instead of rewound.
            ...inventory.nodes.map((node) => `host "postgres" "pgautofailover_replicator" ${node.address}/32 scram-sha-256 ${REWIND_RULE_MARK}`),
          ]
        : []
      const hardened = current.split('\n')
        .filter((line) => !(line.endsWith(APP_RULE_MARK) || line.endsWith(REWIND_RULE_MARK)) || ownRules.includes(line))
        .map((line) => (/^\s*host(ssl|nossl)?\s/.test(line) ? line.replace(/(\s)trust(\s|$)/, '$1scram-sha-256$2') : line))
      while (hardened.length > 0 && hardened.at(-1) === '') hardened.pop()
      for (const rule of ownRules) if (!hardened.includes(rule)) hardened.push(rule)
      const next = hardened.join('\n') + '\n'
      if (next === current) return false
      await pg(host, ['sh', '-c', `cat > ${quote(file)}.tmp && mv ${quote(file)}.tmp ${quote(file)}`], { input: next })
      if (await this.acceptsSql(host)) await sqlExec(host, 'select pg_reload_conf();')
      return true
    },

    /** The monitor's view of every node of the formation. */
    async clusterNodes() {
      return sqlJson(inventory.monitor, `
        select nodeid as node_id, nodename as name, nodehost as host, nodeport as port,
               reportedstate::text as reported_state, goalstate::text as assigned_state,
               health, reportedpgisrunning as pg_running, reportedtli as tli, reportedlsn::text as lsn,
               candidatepriority as candidate_priority, replicationquorum as replication_quorum,
               reportedrepstate as replication_state,
               extract(epoch from now() - reporttime)::float8 as seconds_since_report
          from pgautofailover.node where formationid = '${inventory.formation}' order by nodeid`, { db: 'pg_auto_failover' })
    },
    async synchronousStandbyNames() {
      const [row] = await sqlJson(inventory.monitor, `select pgautofailover.synchronous_standby_names('${inventory.formation}', 0) as names`, { db: 'pg_auto_failover' })
      return row?.names ?? ''
    },

    async stopService(host) {
      return transport.stopService(host, serviceName(host))
    },
    async removeService(host) {
      await transport.removeService(host, serviceName(host))
    },
    async destroyData(host) {
      await pg(host, ['sh', '-c', `rm -rf ${quote(host.pgdata)} "$HOME/.config/pg_autoctl${host.pgdata}" "$HOME/.local/share/pg_autoctl${host.pgdata}"`])
    },
  }
}
