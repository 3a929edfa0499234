// What every runtime shares: once a command can run as the Postgres user next to the data
// directory (`exec`: on the host for native, inside the node's container for docker), reading and
// changing a node is the same pg_autoctl, psql and file work.
import { pgIsReadyArgv, pgIsReadyVerdict } from '../../../lib/port-check.mjs'
import { shellQuote as quote } from '../../../lib/shell.mjs'
import { CAN_TAKE_WRITES } from '../cluster-health.mjs'
import { monitorUri } from '../monitor-uri.mjs'
import { tlsFilesFor } from '../pki.mjs'

const APP_RULE_MARK = '# pg-ha-kit: application access'
const REWIND_RULE_MARK = '# pg-ha-kit: pg_rewind source'
const MONITOR_RULE_MARK = '# pg-ha-kit: monitor health checks'

/**
 * @typedef {import('../transports/transport.mjs').Host} Host
 * @typedef {import('../inventory.mjs').Inventory} Inventory
 * @typedef {{exitCode: number, stdout: string, stderr: string}} ExecResult
 * @typedef {(host: Host, argv: string[], options: {input?: string, inputLabel?: string}) => Promise<ExecResult>} Exec
 * @typedef {{input?: string, inputLabel?: string, allowFailure?: boolean}} PgOptions
 *   allowFailure: return a failed command's result instead of throwing
 */

/**
 * One node of the formation as the monitor reports it: a row of clusterNodes() (pgautofailover.node).
 * @typedef {object} MonitorNode
 * @property {number} node_id
 * @property {string} name the node_name
 * @property {string} host the address the node registered with
 * @property {number} port
 * @property {string} reported_state the state the node's keeper last reported
 * @property {string} assigned_state the goal state the monitor assigned
 * @property {number} health the monitor's health check: 1 good, 0 bad, -1 unknown
 * @property {boolean} pg_running whether the keeper last reported Postgres running
 * @property {number} tli the reported timeline
 * @property {string} lsn the reported WAL position (pg_lsn text, "16/B374D848")
 * @property {number} candidate_priority
 * @property {boolean} replication_quorum
 * @property {string} replication_state the reported replication state (sync, async, quorum, ...)
 * @property {number} seconds_since_report since the keeper's last report
 * @property {number} seconds_since_assigned since the monitor assigned the current goal
 */

/**
 * @param {Inventory} inventory
 * @param {{exec: Exec}} options
 */
export function createPgAutoctlCore(inventory, { exec }) {
  /**
   * Runs a command as the Postgres user; throws with the command's own error when it fails.
   * @param {Host} host @param {string[]} argv @param {PgOptions} [options]
   * @returns {Promise<ExecResult>}
   */
  async function pg(host, argv, { input, inputLabel, allowFailure = false } = {}) {
    const out = await exec(host, argv, { input, inputLabel })
    if (out.exitCode !== 0 && !allowFailure) {
      const detail = (out.stderr.trim() || out.stdout.trim()).split('\n').slice(-4).join(' | ')
      throw new Error(`${argv.slice(0, 3).join(' ')} on ${host.host} exited ${out.exitCode}: ${detail}`)
    }
    return out
  }

  /**
   * Runs SQL through the local socket; `query` must return one json column per row.
   * @param {Host} host @param {string} query @param {{db?: string}} [options]
   * @returns {Promise<any[]>} the rows as JSON.parse gives them (the caller knows their shape)
   */
  async function sqlJson(host, query, { db = 'postgres' } = {}) {
    const out = await pg(host, ['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-p', String(host.port), '-d', db, '-f', '-'], {
      input: `select coalesce(json_agg(t), '[]'::json) from (${query}) t;\n`,
    })
    return JSON.parse(out.stdout.trim() || '[]')
  }

  /**
   * Runs SQL given on stdin (so secrets in it never reach a command line).
   * @param {Host} host @param {string} script @param {{db?: string}} [options]
   */
  async function sqlExec(host, script, { db = 'postgres' } = {}) {
    await pg(host, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-p', String(host.port), '-d', db, '-f', '-'], { input: script })
  }

  /** Whether the host's Postgres accepts connections, through its socket directory. @param {Host} host */
  async function acceptsSql(host) {
    const out = await pg(host, pgIsReadyArgv(host.port), { allowFailure: true })
    return pgIsReadyVerdict(out.exitCode).accepting
  }

  return {
    pg,
    sqlJson,
    sqlExec,
    acceptsSql,

    /** `pg_autoctl create monitor|postgres` for a host, without --run. @param {Host} host @returns {string[]} */
    createArgv(host) {
      const ssl = sslOptions(inventory.ssl, tlsFilesFor(inventory.runtime))
      const common = ['--pgdata', host.pgdata, '--pgport', String(host.port), '--hostname', host.address, '--auth', 'scram-sha-256', ...ssl]
      if (host.role === 'monitor') return ['pg_autoctl', 'create', 'monitor', ...common]
      return [
        'pg_autoctl',
        'create',
        'postgres',
        ...common,
        '--name',
        host.nodeName,
        '--formation',
        inventory.formation,
        '--dbname',
        inventory.dbname,
        '--monitor',
        monitorUri(inventory),
        ...(host.candidatePriority === undefined ? [] : ['--candidate-priority', String(host.candidatePriority)]),
        ...(host.replicationQuorum === undefined ? [] : ['--replication-quorum', String(host.replicationQuorum)]),
      ]
    },

    /** Fully created: configuration present and no unfinished `pg_autoctl create`. @param {Host} host */
    async isInitialized(host) {
      const out = await pg(
        host,
        [
          'sh',
          '-c',
          `test -f ${quote(host.pgdata)}/PG_VERSION && pg_autoctl config get --pgdata ${quote(host.pgdata)} pg_autoctl.role >/dev/null 2>&1 && ! test -e "$(pg_autoctl show file --init --pgdata ${quote(host.pgdata)})"`,
        ],
        { allowFailure: true },
      )
      return out.exitCode === 0
    },

    /**
     * The role's SCRAM verifier (null without a password), or undefined when there is no such role.
     * @param {Host} host @param {string} role @param {{db?: string}} [options]
     * @returns {Promise<string | null | undefined>}
     */
    async roleVerifier(host, role, { db = 'postgres' } = {}) {
      const [row] = await sqlJson(host, `select rolpassword as verifier from pg_authid where rolname = '${role}'`, { db })
      return row ? (row.verifier ?? null) : undefined
    },

    /** @param {Host} host @param {string[]} keys @returns {Promise<Record<string, string>>} */
    async keeperSettings(host, keys) {
      /** @type {Record<string, string>} */
      const values = {}
      for (const key of keys) {
        values[key] = (await pg(host, ['pg_autoctl', 'config', 'get', '--pgdata', host.pgdata, key])).stdout.trim()
      }
      return values
    },
    /** @param {Host} host @param {string} key @param {string} value */
    async setKeeperSetting(host, key, value) {
      await pg(host, ['pg_autoctl', 'config', 'set', '--pgdata', host.pgdata, key, value])
    },
    /** @param {Host} host */
    async reloadKeeper(host) {
      await pg(host, ['pg_autoctl', 'reload', '--pgdata', host.pgdata], { allowFailure: true })
    },

    /**
     * No `trust` over TCP: pg_autoctl's initdb leaves loopback trust and adds a trust rule for
     * the monitor's health checks (which present a fixed password, so scram works for them);
     * data nodes also get the application rule for the inventory's subnet only.
     * @param {Host} host
     * @returns {Promise<boolean>} whether the file changed (and Postgres was reloaded)
     */
    async hardenHba(host) {
      const file = `${host.pgdata}/pg_hba.conf`
      const current = (await pg(host, ['cat', file])).stdout
      const ownRules =
        host.role === 'node'
          ? [
              `host "${inventory.dbname}" "${inventory.appUser}" ${inventory.networkCidr} scram-sha-256 ${APP_RULE_MARK}`,
              // pg_autoctl runs pg_rewind against the new primary's "postgres" database but only
              // admits its replicator to --dbname; without these an old primary is always rebuilt
              // with a full base backup instead of rewound.
              ...inventory.nodes.map(
                (node) => `host "postgres" "pgautofailover_replicator" ${node.address}/32 scram-sha-256 ${REWIND_RULE_MARK}`,
              ),
            ]
          : []
      const hardened = current
        .split('\n')
        .filter((line) => !(line.endsWith(APP_RULE_MARK) || line.endsWith(REWIND_RULE_MARK)) || ownRules.includes(line))
        .map((line) => (/^\s*host(ssl|nossl)?\s/.test(line) ? line.replace(/(\s)trust(\s|$)/, '$1scram-sha-256$2') : line))
      while (hardened.length > 0 && hardened.at(-1) === '') hardened.pop()
      for (const rule of ownRules) if (!hardened.includes(rule)) hardened.push(rule)
      const next = hardened.join('\n') + '\n'
      if (next === current) return false
      await pg(host, ['sh', '-c', `cat > ${quote(file)}.tmp && mv ${quote(file)}.tmp ${quote(file)}`], { input: next })
      if (await acceptsSql(host)) await sqlExec(host, 'select pg_reload_conf();')
      return true
    },

    /**
     * The rule admitting the monitor's health checks (role pgautofailover_monitor, from the
     * inventory's monitor address). pg_autoctl writes it only when it creates a primary (standbys
     * copy it with their base backup); `pg_autoctl enable monitor` adds none for a new monitor.
     * Without it the monitor still counts the node as up (health_check_worker.c: any answer but
     * "cannot connect now" is), but every check, each health_check_period, leaves a FATAL "no
     * pg_hba.conf entry" in the node's log. Same form as pg_autoctl's, with scram-sha-256 as
     * bring-up hardens it (the check presents pg_auto_failover's fixed password). A rule already
     * admitting that address, pg_autoctl's own included, is enough.
     * @param {Host} host
     * @returns {Promise<boolean>} whether the file changed (and Postgres was reloaded)
     */
    async allowMonitorHealthChecks(host) {
      const file = `${host.pgdata}/pg_hba.conf`
      const current = (await pg(host, ['cat', file])).stdout
      const address = `${inventory.monitor.address}/32`
      const admits = current.split('\n').some((line) => {
        const [type, db, user, source] = line.trim().split(/\s+/)
        return (
          /^host(ssl)?$/.test(type ?? '') && db === 'all' && user?.replaceAll('"', '') === 'pgautofailover_monitor' && source === address
        )
      })
      if (admits) return false
      const rule = `${inventory.ssl === 'off' ? 'host' : 'hostssl'} all "pgautofailover_monitor" ${address} scram-sha-256 ${MONITOR_RULE_MARK}`
      await pg(host, ['sh', '-c', `cat > ${quote(file)}.tmp && mv ${quote(file)}.tmp ${quote(file)}`], {
        input: `${current.replace(/\n*$/, '\n')}${rule}\n`,
      })
      if (await acceptsSql(host)) await sqlExec(host, 'select pg_reload_conf();')
      return true
    },

    /** The monitor's view of every node of the formation. @returns {Promise<MonitorNode[]>} */
    async clusterNodes() {
      return sqlJson(
        inventory.monitor,
        `
        select nodeid as node_id, nodename as name, nodehost as host, nodeport as port,
               reportedstate::text as reported_state, goalstate::text as assigned_state,
               health, reportedpgisrunning as pg_running, reportedtli as tli, reportedlsn::text as lsn,
               candidatepriority as candidate_priority, replicationquorum as replication_quorum,
               reportedrepstate as replication_state,
               extract(epoch from now() - reporttime)::float8 as seconds_since_report,
               extract(epoch from now() - statechangetime)::float8 as seconds_since_assigned
          from pgautofailover.node where formationid = '${inventory.formation}' order by nodeid`,
        { db: 'pg_auto_failover' },
      )
    },
    /**
     * The monitor's synchronous_standby_names for the group, or null while no node is assigned a
     * writable state: pg_auto_failover 2.0's function then dereferences a missing primary and
     * crashes the monitor's Postgres (2-node groups; node_active_protocol.c), e.g. mid-failover.
     * @param {Array<Pick<MonitorNode, 'assigned_state'>>} nodes the monitor's view (clusterNodes)
     * @returns {Promise<string | null>}
     */
    async synchronousStandbyNames(nodes) {
      if (!nodes.some((n) => CAN_TAKE_WRITES.has(n.assigned_state))) return null
      const [row] = await sqlJson(
        inventory.monitor,
        `select pgautofailover.synchronous_standby_names('${inventory.formation}', 0) as names`,
        { db: 'pg_auto_failover' },
      )
      return row?.names ?? ''
    },
  }
}

/**
 * ~/.pgpass for the monitor and replication users (libpq reads it; secrets stay off command lines).
 * @param {{monitorPassword: string, replicationPassword: string}} passwords
 */
export function passfileContent({ monitorPassword, replicationPassword }) {
  return [
    `*:*:pg_auto_failover:autoctl_node:${monitorPassword}`,
    `*:*:replication:pgautofailover_replicator:${replicationPassword}`,
    `*:*:*:pgautofailover_replicator:${replicationPassword}`,
    '',
  ].join('\n')
}

/**
 * pg_autoctl create's TLS options: Postgres serves the host's certificate (ssl: ca, files of
 * pki.mjs's tlsFilesFor) and pg_autoctl's own connections (replication, the monitor's) verify
 * the other side against the CA and its name (sslmode verify-full).
 * @param {string} ssl the inventory's @param {{ca: string, cert: string, key: string}} files where the host's Postgres reads them
 */
export function sslOptions(ssl, files) {
  if (ssl === 'off') return ['--no-ssl']
  if (ssl === 'self-signed') return ['--ssl-self-signed']
  if (ssl === 'ca') return ['--ssl-ca-file', files.ca, '--server-cert', files.cert, '--server-key', files.key, '--ssl-mode', 'verify-full']
  throw new Error(`ssl "${ssl}" has no pg_autoctl options`)
}
