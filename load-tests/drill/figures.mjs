// A drill's figures from its attempt records, the times it marked and the direct probes.
// Latency is a logical write's, from when it was due to start (its scheduled time) to its
// acknowledgement, retries included: what a client waiting on it saw, with no coordinated omission.
import { build } from 'hdr-histogram-js'

/**
 * @typedef {object} Marks epoch ms of what the drill did and saw
 * @property {number} load_start_ms
 * @property {number} fault_ms
 * @property {number | null} promotion_ms another node promoted (the monitor's events)
 * @property {number | null} heal_ms
 * @property {number | null} converged_ms the cluster healthy again, every node back
 * @property {number} load_end_ms
 */

/**
 * @typedef {object} ProbeFigures from the direct write probes on every node
 * @property {number | null} new_primary_first_write_ms the new primary's first accepted write after the fault
 * @property {number | null} overlap_ms the old primary's last accepted write minus that (> 0: two primaries took writes)
 */

/**
 * @param {import('../engine/records.mjs').AttemptRecord[]} records
 * @param {Marks} marks
 * @param {ProbeFigures} probes
 */
export function drillFigures(records, marks, probes) {
  const writes = records.filter((r) => r.kind === 'write')
  const acked = writes.filter((r) => r.outcome === 'acked').sort((a, b) => Number(a.end_ms) - Number(b.end_ms))
  let outageMs = 0
  for (let i = 1; i < acked.length; i++) outageMs = Math.max(outageMs, Number(acked[i]?.end_ms) - Number(acked[i - 1]?.end_ms))
  const phaseOf = (/** @type {number} */ t) => (t < marks.fault_ms ? 'before' : t < (marks.converged_ms ?? Infinity) ? 'during' : 'after')
  /** @type {Record<string, number[]>} */
  const latency = { before: [], during: [], after: [] }
  for (const r of acked) latency[phaseOf(r.scheduled_ms)]?.push(Number(r.end_ms) - r.scheduled_ms)
  const firstAckAfterProbe =
    probes.new_primary_first_write_ms === null
      ? undefined
      : acked.find((r) => Number(r.end_ms) >= /** @type {number} */ (probes.new_primary_first_write_ms))
  const seconds = (/** @type {number | null | undefined} */ ms) =>
    ms === null || ms === undefined || !Number.isFinite(ms) ? null : Math.round(ms / 100) / 10
  return {
    write_outage_s: seconds(outageMs),
    client_errors: writes.filter((r) => r.outcome === 'retry' || r.outcome === 'rejected').length,
    read_errors: records.filter((r) => r.kind === 'read' && r.outcome === 'failed').length,
    dropped: writes.filter((r) => r.outcome === 'dropped').length,
    ...percentiles('before', latency.before ?? []),
    ...percentiles('during', latency.during ?? []),
    ...percentiles('after', latency.after ?? []),
    promotion_s: seconds(marks.promotion_ms === null ? null : marks.promotion_ms - marks.fault_ms),
    reconnect_s: seconds(
      firstAckAfterProbe ? Number(firstAckAfterProbe.end_ms) - /** @type {number} */ (probes.new_primary_first_write_ms) : null,
    ),
    rejoin_s: seconds(marks.converged_ms === null ? null : marks.converged_ms - (marks.heal_ms ?? marks.fault_ms)),
    overlap_s: seconds(probes.overlap_ms),
    acknowledged: acked.length,
  }
}

/** @param {string} phase @param {number[]} values */
function percentiles(phase, values) {
  if (values.length === 0) return { [`p50_ms_${phase}`]: null, [`p99_ms_${phase}`]: null }
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })
  for (const v of values) h.recordValue(Math.min(Math.max(1, v), 3_600_000))
  return { [`p50_ms_${phase}`]: h.getValueAtPercentile(50), [`p99_ms_${phase}`]: h.getValueAtPercentile(99) }
}
