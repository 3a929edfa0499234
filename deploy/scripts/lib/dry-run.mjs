// bringup --check: the very steps of a real bring-up, run against a transport that records every
// command instead of running it, on hosts assumed empty (nothing created, no service running).
// The commands a step runs are printed under it, labelled with their host, in the order a real
// bring-up runs them; stdin (SQL, files) is shown too, with every secret replaced by ***.
import { shellQuote } from '../../lib/shell.mjs'

// Roles `pg_autoctl create` makes itself, without a password (bring-up sets one).
const PG_AUTOCTL_ROLES = new Set(['autoctl_node', 'pgautofailover_replicator', 'autoctl'])

/** @typedef {import('./transports/transport.mjs').Host} Host */
/**
 * A command as recorded: what it runs (argv, its stdin), or a note for what is not a command
 * (a reachability check, a service set up).
 * @typedef {{host: Host, user: string, argv: string[], note?: undefined, input?: string} | {host: Host, user: string, note: string, argv?: undefined, input?: undefined}} RecordedCommand
 */

/** @typedef {import('./transports/transport.mjs').Transport & {take: () => RecordedCommand[]}} RecordingTransport */

/**
 * @param {{real: import('./transports/transport.mjs').Transport}} options real: the transport the
 *   inventory names (its descriptions head the plan and its notes; nothing is ever run through it)
 * @returns {RecordingTransport}
 */
export function createRecordingTransport({ real }) {
  /** @type {RecordedCommand[]} */
  const pending = []
  const ok = { exitCode: 0, stdout: '', stderr: '' }
  return {
    name: real.name,
    describe: real.describe,
    describeReachability: real.describeReachability,
    describeService: real.describeService,
    /** The commands recorded since the last call. */
    take: () => pending.splice(0),
    async ensureReachable(hosts) {
      for (const host of hosts) pending.push({ host, user: 'root', note: `check: ${real.describeReachability(host)}` })
    },
    /** inputLabel: where a long stdin comes from (a file of this repository), shown instead of it. */
    async run(host, argv, { user = 'root', input, inputLabel } = {}) {
      pending.push({ host, user, argv, input: inputLabel === undefined ? input : `<${inputLabel}>\n` })
      // A file read shows as a placeholder in what is written back from it; pg_hba.conf as
      // initdb leaves it on a fresh node, TCP from loopback trusted (bring-up hardens that).
      const [command, file] = argv.slice(-2)
      if (command === 'cat' && file !== undefined) {
        return {
          ...ok,
          stdout: `# <${file} as it is on the host>\n${file.endsWith('/pg_hba.conf') ? 'host    all    all    127.0.0.1/32    trust\n' : ''}`,
        }
      }
      return ok
    },
    async ensureService(host, spec) {
      pending.push({ host, user: 'root', note: `service ${spec.name}: ${real.describeService(spec)}` })
      return true
    },
    async serviceRunning() {
      return false
    },
    async stopService(host, name) {
      pending.push({ host, user: 'root', note: `service ${name}: stop` })
      return false
    },
    async removeService(host, name) {
      pending.push({ host, user: 'root', note: `service ${name}: remove` })
    },
  }
}

/**
 * Whether a transport is the recorder (a context loaded with dryRun has it in front of the real one).
 * @param {import('./transports/transport.mjs').Transport} transport
 * @returns {transport is RecordingTransport}
 */
export function isRecordingTransport(transport) {
  return 'take' in transport && typeof transport.take === 'function'
}

/**
 * The runtime's answers for hosts where nothing exists yet, its commands still recorded: nothing
 * is initialized or running, pg_autoctl's roles exist without a password, and the monitor sees
 * the nodes created so far, the first a primary and the others secondaries.
 * @param {import('./runtimes/runtime.mjs').Runtime} runtime
 * @returns {import('./runtimes/runtime.mjs').Runtime}
 */
export function assumeFreshCluster(runtime) {
  /** @type {Host[]} */
  const created = []
  /** @param {Host} host @param {number} index */
  const row = (host, index) => {
    const state = index === 0 ? 'primary' : 'secondary'
    return {
      node_id: index + 1,
      name: host.nodeName,
      host: host.address,
      port: host.port,
      reported_state: state,
      assigned_state: state,
      health: 1,
      pg_running: true,
    }
  }
  return {
    ...runtime,
    async isInitialized(host) {
      await runtime.isInitialized(host)
      return false
    },
    async roleVerifier(host, role, options) {
      await runtime.roleVerifier(host, role, options)
      return PG_AUTOCTL_ROLES.has(role) ? null : undefined
    },
    async createNode(host) {
      await runtime.createNode(host)
      created.push(host)
    },
    async clusterNodes() {
      await runtime.clusterNodes()
      // Only the fields a fresh cluster's steps read: what the monitor knows of running nodes only
      // (timeline, LSN, candidate priority, timings) is absent, so the plan moves no primary.
      return /** @type {import('./runtimes/pg-autoctl-core.mjs').MonitorNode[]} */ (created.map(row))
    },
  }
}

/**
 * Renders recorded commands: one line each (`[host address] user$ command`), stdin as a heredoc.
 * @param {RecordedCommand[]} commands
 * @param {(text: string) => string} scrub
 */
export function renderCommands(commands, scrub) {
  const lines = []
  for (const { host, user, argv, note, input } of commands) {
    const where = `    [${host.host} ${host.address}]`
    if (note !== undefined) {
      lines.push(`${where} ${note}`)
      continue
    }
    const command = scrub(argv.map(shellQuote).join(' '))
    if (input === undefined || input === '') {
      lines.push(`${where} ${user}$ ${command}`)
    } else {
      lines.push(
        `${where} ${user}$ ${command} <<'EOF'`,
        ...scrub(input)
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => `      ${l}`),
        '      EOF',
      )
    }
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

/**
 * The same, one JSON object per command, for --json.
 * @param {RecordedCommand[]} commands @param {string} step @param {(text: string) => string} scrub
 */
export function commandsAsJson(commands, step, scrub) {
  return commands
    .map(
      ({ host, user, argv, note, input }) =>
        JSON.stringify({
          event: 'command',
          step,
          host: host.host,
          address: host.address,
          user,
          ...(note !== undefined ? { note } : { argv: argv.map(scrub) }),
          ...(input ? { input: scrub(input) } : {}),
        }) + '\n',
    )
    .join('')
}
