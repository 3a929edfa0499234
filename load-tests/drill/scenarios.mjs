// The drill's scenarios: one registry that the CLI's validation, the drill and its report all
// read. Each names the fault, which transports can make it (power-off needs the lab; a real
// cluster over ssh takes only faults that leave its machines running), whether a promotion is
// expected, and how to inject and heal it. heal() is safe after a partial inject(): a drill
// that fails or is interrupted heals everything it injected.
import { FAULTS, injectFault } from '@pg-ha/deploy/lab'
import { waitFor } from '@pg-ha/deploy/cluster'

/** nft table of isolate-primary, inside the primary's host. */
const ISOLATE_TABLE = 'pgha_drill_isolate'

/**
 * @typedef {object} FaultState what a scenario injected, for heal() and the report
 * @property {string} target the node (or VM) the fault hit
 * @property {Array<() => Promise<unknown>>} undo heal steps, newest last
 * @property {number} [hitAt] epoch ms of the fault's first effect (inject() first finds its target)
 */

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} fault what happens, in words
 * @property {ReadonlyArray<'netns' | 'ssh'>} transports
 * @property {boolean} failover whether the monitor is expected to promote another node
 * @property {(kit: import('./fault-kit.mjs').FaultKit, state: FaultState) => Promise<void>} inject
 */

/** @param {import('./fault-kit.mjs').FaultKit} kit */
async function currentPrimary(kit) {
  const node = await kit.primary()
  if (!node) throw new Error('the monitor shows no single writable primary: not a cluster to drill now (see status.mjs)')
  return node
}

/**
 * A fault of the lab's registry on a VM, remembering the fault that undoes it.
 * @param {import('./fault-kit.mjs').FaultKit} kit @param {FaultState} state
 * @param {import('@pg-ha/deploy/lab').FaultName} fault @param {string} vm
 */
async function labFault(kit, state, fault, vm) {
  const lab = kit.lab
  if (!lab) throw new Error(`${fault} needs the lab (transport netns)`)
  const undo = FAULTS[fault].undo
  if (undo) state.undo.push(() => injectFault(lab, undo, vm))
  state.hitAt ??= Date.now()
  await injectFault(lab, fault, vm)
}

/** @type {Scenario[]} */
const list = [
  {
    name: 'switchover',
    fault: 'switchover.mjs: a planned change of primary',
    transports: ['netns', 'ssh'],
    failover: true,
    async inject(kit, state) {
      state.target = (await currentPrimary(kit)).name
      state.hitAt = Date.now()
      await kit.script('switchover.mjs')
    },
  },
  {
    name: 'power-off',
    fault: "the primary's VM powered off, then restarted",
    transports: ['netns'],
    failover: true,
    async inject(kit, state) {
      const primary = await currentPrimary(kit)
      state.target = primary.name
      await labFault(kit, state, 'power-off', kit.vmOf(kit.hostOf(primary)))
    },
  },
  {
    name: 'partition',
    fault: "the primary's VM link down, then up",
    transports: ['netns'],
    failover: true,
    async inject(kit, state) {
      const primary = await currentPrimary(kit)
      const vm = kit.vmOf(kit.hostOf(primary))
      state.target = primary.name
      await labFault(kit, state, 'partition', vm)
    },
  },
  {
    name: 'isolate-primary',
    fault:
      'the primary cut off from the monitor and the standbys only (nft rules on its host), still reachable from the application; then healed',
    transports: ['netns', 'ssh'],
    failover: true,
    async inject(kit, state) {
      const primary = await currentPrimary(kit)
      const host = kit.hostOf(primary)
      const peers = [...new Set([kit.inventory.monitor, ...kit.inventory.nodes].map((h) => h.address).filter((a) => a !== host.address))]
      state.target = primary.name
      state.undo.push(async () => void (await kit.transport.run(host, ['nft', 'delete', 'table', 'inet', ISOLATE_TABLE], { user: 'root' })))
      const set = peers.join(', ')
      state.hitAt = Date.now()
      await kit.root(
        host,
        ['nft', '-f', '-'],
        `table inet ${ISOLATE_TABLE} {
  chain input { type filter hook input priority -10; policy accept; ip saddr { ${set} } drop; }
  chain output { type filter hook output priority -10; policy accept; ip daddr { ${set} } drop; }
}
`,
      )
    },
  },
  {
    name: 'crash-postgres',
    fault: "the primary's postmaster SIGKILLed, its keeper alive (it restarts Postgres)",
    transports: ['netns', 'ssh'],
    failover: false,
    async inject(kit, state) {
      const primary = await currentPrimary(kit)
      const host = kit.hostOf(primary)
      state.target = primary.name
      state.hitAt = Date.now()
      await kit.runtime.pg(host, ['sh', '-c', 'kill -KILL "$(head -n 1 "$1/postmaster.pid")"', 'crash-postgres', host.pgdata])
    },
  },
  {
    name: 'standby-loss',
    fault: 'a standby powered off (lab) or its service stopped (ssh), then restarted',
    transports: ['netns', 'ssh'],
    failover: false,
    async inject(kit, state) {
      const primary = await currentPrimary(kit)
      // Not the monitor's host: losing it would be monitor-loss too.
      const standby = (await kit.nodes())
        .map((n) => kit.hostOf(n))
        .find((h) => h.nodeName !== primary.name && h.address !== kit.inventory.monitor.address)
      if (!standby) throw new Error("no standby off the monitor's host to lose")
      state.target = standby.nodeName
      if (kit.lab) return labFault(kit, state, 'power-off', kit.vmOf(standby))
      state.undo.push(() => kit.runtime.ensureRunning(standby))
      state.hitAt = Date.now()
      await kit.runtime.stopService(standby)
    },
  },
  {
    name: 'monitor-loss',
    fault: "the monitor's VM link down (the primary elsewhere), then up",
    transports: ['netns'],
    failover: false,
    async inject(kit, state) {
      const vm = kit.vmOf(kit.inventory.monitor)
      state.target = 'monitor'
      await labFault(kit, state, 'partition', vm)
    },
  },
  {
    name: 'double-failover',
    fault: 'the primary powered off, and as soon as a new primary takes writes, that one too; then both restarted',
    transports: ['netns'],
    failover: true,
    async inject(kit, state) {
      const first = await currentPrimary(kit)
      state.target = first.name
      await labFault(kit, state, 'power-off', kit.vmOf(kit.hostOf(first)))
      const second = await waitFor(
        async () => {
          const now = await kit.primary().catch(() => null)
          return now && now.name !== first.name && ['primary', 'wait_primary'].includes(now.reported_state) ? now : null
        },
        { timeoutMs: 180_000, intervalMs: 250, what: 'a new primary after the first power-off' },
      )
      state.target = `${first.name}, then ${second.name}`
      await labFault(kit, state, 'power-off', kit.vmOf(kit.hostOf(second)))
    },
  },
  {
    name: 'cluster-restart',
    fault: 'every VM powered off, then all restarted',
    transports: ['netns'],
    failover: false,
    async inject(kit, state) {
      state.target = 'every VM'
      const vms = [...new Set([kit.inventory.monitor, ...kit.inventory.nodes].map((h) => kit.vmOf(h)))]
      for (const vm of vms) await labFault(kit, state, 'power-off', vm)
    },
  },
]

/** @type {ReadonlyMap<string, Scenario>} */
export const SCENARIOS = new Map(list.map((s) => [s.name, s]))
export const SCENARIO_NAMES = [...SCENARIOS.keys()]

/** Undoes what a scenario injected, newest first; every step is tried. @param {FaultState} state */
export async function healFault(state) {
  const errors = []
  while (state.undo.length > 0) {
    const step = /** @type {() => Promise<void>} */ (state.undo.pop())
    try {
      await step()
    } catch (error) {
      errors.push(error)
    }
  }
  if (errors.length > 0)
    throw new AggregateError(errors, `healing ${state.target}: ${errors.map((e) => /** @type {Error} */ (e).message).join('; ')}`)
}
