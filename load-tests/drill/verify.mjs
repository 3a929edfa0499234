// Jepsen-style verification of a drill from its attempt records and what the database holds.
// Counted by logical write id in `orders.note`, a column with no unique index, so a write stored
// twice is two rows and shows: the idempotency key's unique index could never show one.
import { NOTE_PREFIX } from '../lib/scenario.js'

/** @typedef {{logical_id: string, ids: string[]}} StoredWrite one logical id's rows */

/**
 * This run's rows, grouped by logical id.
 * @param {{query: (sql: string, params: unknown[]) => Promise<{rows: any[]}>}} db a read-write pool (the primary)
 * @param {string} runId
 * @returns {Promise<StoredWrite[]>}
 */
export async function storedWrites(db, runId) {
  const { rows } = await db.query(
    `select substr(note, $2::int) as logical_id, array_agg(id::text order by id) as ids
       from orders where note like $1 group by 1`,
    [`${NOTE_PREFIX}${runId}-%`, NOTE_PREFIX.length + 1],
  )
  return rows
}

/**
 * @typedef {object} Verification
 * @property {number} acknowledged logical writes with a 2xx answer
 * @property {number | null} lost acknowledged, not stored (null: not verified, the rows could not be read)
 * @property {number | null} duplicated stored more than once (null: not verified)
 * @property {number} changed acknowledged with an order id the database does not hold for it
 * @property {number} failed_but_stored never acknowledged (given up, or the run stopped), yet stored: allowed, reported
 * @property {number} unknown_stored stored under this run's id but never attempted: a defect
 * @property {string[]} lost_ids
 * @property {string[]} duplicated_ids
 * @property {string[]} changed_ids
 * @property {boolean} passed
 */

/**
 * @param {import('../engine/records.mjs').AttemptRecord[]} records
 * @param {StoredWrite[]} stored
 * @returns {Verification}
 */
export function verifyWrites(records, stored) {
  /** @type {Map<string, string | null>} logical id -> the order id it was acknowledged with */
  const acked = new Map()
  const attempted = new Set()
  for (const r of records) {
    if (r.kind !== 'write' || r.logical_id === null || r.outcome === 'dropped') continue
    attempted.add(r.logical_id)
    if (r.outcome === 'acked') acked.set(r.logical_id, r.order_id)
  }
  const byId = new Map(stored.map((s) => [s.logical_id, s.ids]))
  const lost = [...acked.keys()].filter((id) => !byId.has(id))
  const duplicated = stored.filter((s) => s.ids.length > 1).map((s) => s.logical_id)
  const changed = [...acked]
    .filter(([id, orderId]) => byId.has(id) && orderId !== null && !byId.get(id)?.includes(orderId))
    .map(([id]) => id)
  const failedButStored = stored.filter((s) => !acked.has(s.logical_id) && attempted.has(s.logical_id)).length
  const unknown = stored.filter((s) => !attempted.has(s.logical_id)).length
  return {
    acknowledged: acked.size,
    lost: lost.length,
    duplicated: duplicated.length,
    changed: changed.length,
    failed_but_stored: failedButStored,
    unknown_stored: unknown,
    lost_ids: lost,
    duplicated_ids: duplicated,
    changed_ids: changed,
    passed: lost.length === 0 && duplicated.length === 0 && changed.length === 0 && unknown === 0,
  }
}

/**
 * What a drill reports when it could not read the rows: acknowledged writes counted, nothing
 * verified, and a failed run.
 * @param {import('../engine/records.mjs').AttemptRecord[]} records
 * @returns {Verification}
 */
export function unverified(records) {
  const acked = new Set(records.filter((r) => r.kind === 'write' && r.outcome === 'acked').map((r) => r.logical_id))
  return {
    acknowledged: acked.size,
    lost: null,
    duplicated: null,
    changed: 0,
    failed_but_stored: 0,
    unknown_stored: 0,
    lost_ids: [],
    duplicated_ids: [],
    changed_ids: [],
    passed: false,
  }
}
