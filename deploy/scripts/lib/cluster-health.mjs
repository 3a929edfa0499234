// Judges the monitor's view of a formation, in three verdicts:
//   healthy:   exactly one primary, every other node a secondary, every node healthy per the
//              monitor's checks and in the state it was assigned;
//   degraded:  the same, except for nodes the operator put into maintenance (the monitor assigned
//              them wait_maintenance, prepare_maintenance or maintenance: maintenance.mjs --enable,
//              pg_autoctl enable maintenance). Their Postgres is stopped, so their failing health
//              check is by design; with no standby left to wait for, the primary may sit in
//              wait_primary. Planned and intended, but fewer standbys than usual;
//   unhealthy: anything else (including a node on its way back after maintenance --disable).

/**
 * @typedef {import('./runtimes/pg-autoctl-core.mjs').MonitorNode} MonitorNode
 * @typedef {Pick<MonitorNode, 'reported_state' | 'assigned_state'>} NodeStates what roleOf reads
 * @typedef {Pick<MonitorNode, 'name' | 'reported_state' | 'assigned_state' | 'health'>} NodeSummary what a verdict reads
 */

const WRITABLE = new Set(['single', 'wait_primary', 'primary'])
/** The states in which the monitor lets a node take writes: CanTakeWritesInState, pg_auto_failover 2.0's src/monitor/node_metadata.c. */
export const CAN_TAKE_WRITES = new Set(['single', 'primary', 'wait_primary', 'join_primary', 'apply_settings'])
/** The goals `pg_autoctl enable maintenance` assigns: the operator's choice, not a fault. */
export const MAINTENANCE_STATES = new Set(['wait_maintenance', 'prepare_maintenance', 'maintenance'])

/**
 * The node's role as the monitor sees it: primary, secondary or the state it is in.
 * @param {NodeStates} node
 * @returns {string}
 */
export function roleOf(node) {
  // A powered-off primary keeps its last reported state; the monitor's assignment says it is out.
  if (WRITABLE.has(node.reported_state)) return WRITABLE.has(node.assigned_state) ? 'primary' : node.assigned_state
  if (node.reported_state === 'secondary') return 'secondary'
  return node.reported_state
}

/** The monitor's view on one line, for "last seen" in timeouts and for progress details. @param {NodeSummary[]} nodes */
export function describeNodes(nodes) {
  return nodes.map((n) => `${n.name}=${n.reported_state}/${n.assigned_state}${n.health === 1 ? '' : ` health=${n.health}`}`).join(' ')
}

/** A node the operator put into maintenance: the monitor assigned it a maintenance goal. @param {Pick<MonitorNode, 'assigned_state'>} node */
export const inMaintenance = (node) => MAINTENANCE_STATES.has(node.assigned_state)

/**
 * @param {NodeSummary[]} nodes the monitor's view (clusterNodes) @param {number} expectedNodes
 * @returns {{healthy: boolean, verdict: 'healthy'|'degraded'|'unhealthy', problems: string[], maintenance: string[]}}
 *   healthy: verdict === 'healthy'; problems: what makes it unhealthy (empty unless unhealthy);
 *   maintenance: the names of the nodes in planned maintenance
 */
export function assessCluster(nodes, expectedNodes) {
  /** @type {string[]} */
  const problems = []
  const maintenance = nodes.filter(inMaintenance).map((n) => n.name)
  if (nodes.length !== expectedNodes) problems.push(`the monitor knows ${nodes.length} nodes, the inventory has ${expectedNodes}`)
  const primaries = nodes.filter((n) => roleOf(n) === 'primary')
  if (primaries.length !== 1) problems.push(`${primaries.length} primaries (${primaries.map((n) => n.name).join(', ') || 'none'})`)
  // A primary with its standby in maintenance waits for none (pg_auto_failover: wait_primary).
  const settled = maintenance.length > 0 ? ['primary', 'wait_primary', 'secondary'] : ['primary', 'secondary']
  for (const node of nodes) {
    if (inMaintenance(node)) continue
    if (node.health !== 1) problems.push(`${node.name}: health check ${node.health === 0 ? 'failing' : 'unknown'}`)
    if (node.reported_state !== node.assigned_state)
      problems.push(`${node.name}: ${node.reported_state} while assigned ${node.assigned_state}`)
    if (!settled.includes(node.reported_state)) problems.push(`${node.name}: in state ${node.reported_state}`)
  }
  const verdict = problems.length > 0 ? 'unhealthy' : maintenance.length > 0 ? 'degraded' : 'healthy'
  return { healthy: verdict === 'healthy', verdict, problems: [...new Set(problems)], maintenance }
}

// States a standby passes through on its way to secondary. The monitor stamps statechangetime
// when it assigns a goal, so `seconds_since_assigned` bounds the time spent joining toward it;
// minutes of that mean the node is stuck (seen: join_secondary asking for WAL "ahead of the
// flush position" of a new primary after a switchover, a power-off and a partition in a row),
// and only a rebuild gets it out.
const JOINING = new Set(['wait_standby', 'join_secondary', 'catchingup'])
export const STUCK_AFTER_S = 120

/**
 * Joining nodes whose goal was assigned more than `afterS` seconds ago (rejoin.mjs rebuilds them).
 * @template {Pick<MonitorNode, 'reported_state'> & Partial<Pick<MonitorNode, 'seconds_since_assigned'>>} N
 * @param {N[]} nodes the monitor's view (clusterNodes) @param {{afterS?: number}} [options]
 * @returns {N[]}
 */
export function stuckNodes(nodes, { afterS = STUCK_AFTER_S } = {}) {
  return nodes.filter((n) => JOINING.has(n.reported_state) && Number(n.seconds_since_assigned) > afterS)
}

/**
 * The likely cause of a stuck node, when the monitor's view shows it: a node on an older timeline
 * than the primary that is not rewinding (only demoted -> catchingup rewinds in pg_auto_failover
 * 2.0; a former primary pulled into report_lsn follows the new primary without pg_rewind and asks
 * for WAL it has past the fork, for good; fixed upstream after 2.2, hapostgres/pg_auto_failover#1161).
 * @param {NodeStates & Partial<Pick<MonitorNode, 'tli'>>} node
 * @param {Array<NodeStates & Pick<MonitorNode, 'name'> & Partial<Pick<MonitorNode, 'tli'>>>} nodes the monitor's view (clusterNodes)
 * @returns {string | undefined}
 */
export function stuckCause(node, nodes) {
  const primary = nodes.find((n) => roleOf(n) === 'primary')
  if (!primary || node.reported_state === 'catchingup') return undefined
  if (Number(node.tli) > 0 && Number(node.tli) < Number(primary.tli)) {
    return `it is on timeline ${node.tli} while the primary ${primary.name} is on ${primary.tli}: likely a former primary that followed the new one without pg_rewind (pg_auto_failover 2.0), with WAL past the fork it cannot stream from there; its keeper guard rewinds it after 30 s in join_secondary (lines "keeper-guard:" in its keeper's log say why it did not)`
  }
  return undefined
}
