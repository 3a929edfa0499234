// The drill's verdict from records and rows: each kind of defect fails it on its own.
import { describe, expect, it } from 'vitest'
import { verifyWrites } from '../drill/verify.mjs'

/** @returns {import('../engine/records.mjs').AttemptRecord} */
function attempt(
  /** @type {string} */ id,
  /** @type {number} */ n,
  /** @type {number} */ status,
  orderId = /** @type {string | null} */ (null),
) {
  const outcome = status === 201 || status === 200 ? 'acked' : 'retry'
  return {
    kind: 'write',
    logical_id: id,
    key: id,
    attempt: n,
    scheduled_ms: 0,
    start_ms: 1,
    end_ms: 2,
    status,
    outcome,
    error: null,
    order_id: orderId,
  }
}

const records = [attempt('r-0', 1, 201, '10'), attempt('r-1', 1, 503), attempt('r-1', 2, 200, '11'), attempt('r-2', 1, 0)]

describe('verifyWrites', () => {
  it('passes when every acknowledged write is stored once, under the id it was acknowledged with', () => {
    const v = verifyWrites(records, [
      { logical_id: 'r-0', ids: ['10'] },
      { logical_id: 'r-1', ids: ['11'] },
    ])
    expect(v).toMatchObject({ acknowledged: 2, lost: 0, duplicated: 0, changed: 0, failed_but_stored: 0, passed: true })
  })

  it('fails on a lost write', () => {
    const v = verifyWrites(records, [{ logical_id: 'r-1', ids: ['11'] }])
    expect(v).toMatchObject({ lost: 1, lost_ids: ['r-0'], passed: false })
  })

  it('fails on a write stored twice (two rows with one logical id)', () => {
    const v = verifyWrites(records, [
      { logical_id: 'r-0', ids: ['10', '12'] },
      { logical_id: 'r-1', ids: ['11'] },
    ])
    expect(v).toMatchObject({ duplicated: 1, duplicated_ids: ['r-0'], passed: false })
  })

  it('fails when the acknowledged order id is not the stored one', () => {
    const v = verifyWrites(records, [
      { logical_id: 'r-0', ids: ['99'] },
      { logical_id: 'r-1', ids: ['11'] },
    ])
    expect(v).toMatchObject({ changed: 1, changed_ids: ['r-0'], passed: false })
  })

  it('reports, without failing, a write that failed for the client but was stored', () => {
    const v = verifyWrites(records, [
      { logical_id: 'r-0', ids: ['10'] },
      { logical_id: 'r-1', ids: ['11'] },
      { logical_id: 'r-2', ids: ['13'] },
    ])
    expect(v).toMatchObject({ failed_but_stored: 1, passed: true })
  })

  it('fails on a row of this run that no attempt made', () => {
    const v = verifyWrites(records, [
      { logical_id: 'r-0', ids: ['10'] },
      { logical_id: 'r-1', ids: ['11'] },
      { logical_id: 'r-7', ids: ['14'] },
    ])
    expect(v).toMatchObject({ unknown_stored: 1, passed: false })
  })
})
