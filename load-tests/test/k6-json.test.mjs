// k6-json.mjs: k6's `--out json` lines (fixtures/k6-output.json, in k6's documented format) made
// into attempt records, and a line that is not JSON refused with its file and line.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordsFromK6Json } from '../engine/k6-json.mjs'
import { OUTCOMES } from '../engine/records.mjs'

const FIXTURE = fileURLToPath(new URL('./fixtures/k6-output.json', import.meta.url))
const T0 = Date.parse('2026-03-02T10:00:00Z')

/** @type {import('../engine/records.mjs').AttemptRecord[]} */
let records
/** @type {string} */
let scratch

beforeAll(async () => {
  records = await recordsFromK6Json(FIXTURE)
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'k6-json-'))
})
afterAll(async () => {
  await fs.rm(scratch, { recursive: true, force: true })
})

const writesOf = (/** @type {string} */ id) => records.filter((r) => r.logical_id === id)

describe('recordsFromK6Json', () => {
  it('makes one record per drill request and per dropped write, in the file order, and nothing of other metrics', () => {
    // 6 write attempts, 1 read, 1 dropped write; the untagged setup request, http_reqs,
    // http_req_failed, vus, iterations, logical_write_success and the reads' dropped iteration are not records.
    expect(records.map((r) => `${r.kind}:${r.logical_id ?? '-'}:${r.attempt}:${r.outcome}`)).toEqual([
      'write:r1-0:1:acked',
      'write:r1-1:1:retry',
      'write:r1-1:2:acked',
      'read:-:1:ok',
      'write:-:0:dropped',
      'write:r1-2:1:retry',
      'write:r1-2:2:acked',
    ])
    for (const record of records) expect(OUTCOMES).toContain(record.outcome)
  })

  it('an acknowledged write: started at time minus duration (any offset, below the millisecond), its key, no error', () => {
    expect(writesOf('r1-0')).toEqual([
      {
        kind: 'write',
        logical_id: 'r1-0',
        key: 'r1-0',
        attempt: 1,
        scheduled_ms: T0 + 100,
        start_ms: T0 + 100,
        end_ms: T0 + 120.5,
        status: 201,
        outcome: 'acked',
        error: null,
        order_id: null,
      },
    ])
  })

  it('a 503 retried with the same key, then a 200 replay: both attempts keep the first attempt as scheduled time', () => {
    const [first, second] = writesOf('r1-1')
    expect(first).toMatchObject({
      attempt: 1,
      status: 503,
      outcome: 'retry',
      start_ms: T0 + 120,
      end_ms: T0 + 135.25,
      scheduled_ms: T0 + 120,
      error: null,
    })
    expect(second).toMatchObject({
      attempt: 2,
      status: 200,
      outcome: 'acked',
      start_ms: T0 + 235.25,
      end_ms: T0 + 247.25,
      scheduled_ms: T0 + 120,
      key: 'r1-1',
    })
  })

  it('a request with no answer: status 0, judged retry, k6 error code as the error', () => {
    const [timedOut, acked] = writesOf('r1-2')
    expect(timedOut).toMatchObject({ attempt: 1, status: 0, outcome: 'retry', error: 'k6:1211', start_ms: T0 + 140, end_ms: T0 + 10_140 })
    expect(acked).toMatchObject({ attempt: 2, status: 201, outcome: 'acked', scheduled_ms: T0 + 140, start_ms: T0 + 10_240 })
  })

  it('a read: ok, no key, scheduled when it started (reads carry no scheduled_ms tag)', () => {
    expect(records.filter((r) => r.kind === 'read')).toEqual([
      {
        kind: 'read',
        logical_id: null,
        key: null,
        attempt: 1,
        scheduled_ms: T0 + 295.5,
        start_ms: T0 + 295.5,
        end_ms: T0 + 300,
        status: 200,
        outcome: 'ok',
        error: null,
        order_id: null,
      },
    ])
  })

  it("the writes scenario's dropped iteration: a dropped write at its time, attempt 0, never sent", () => {
    expect(records.filter((r) => r.outcome === 'dropped')).toEqual([
      {
        kind: 'write',
        logical_id: null,
        key: null,
        attempt: 0,
        scheduled_ms: T0 + 5000,
        start_ms: null,
        end_ms: null,
        status: null,
        outcome: 'dropped',
        error: null,
        order_id: null,
      },
    ])
  })

  it('judges read answers: a 5xx or no answer is failed', async () => {
    const file = path.join(scratch, 'reads.json')
    const point = (/** @type {string} */ status, /** @type {Record<string, string>} */ extra = {}) =>
      JSON.stringify({
        type: 'Point',
        metric: 'http_req_duration',
        data: { time: '2026-03-02T10:00:01Z', value: 5, tags: { kind: 'read', scenario: 'reads', status, ...extra } },
      })
    await fs.writeFile(file, [point('503'), point('0', { error_code: '1050' }), point('204')].join('\n') + '\n')
    const reads = await recordsFromK6Json(file)
    expect(reads.map((r) => [r.status, r.outcome, r.error])).toEqual([
      [503, 'failed', null],
      [0, 'failed', 'k6:1050'],
      [204, 'ok', null],
    ])
  })

  it('throws on a line that is not JSON, naming the file and the line', async () => {
    const file = path.join(scratch, 'broken.json')
    const lines = (await fs.readFile(FIXTURE, 'utf8')).split('\n').slice(0, 3)
    await fs.writeFile(file, [...lines, '{"type":"Point","data":{"time":', ''].join('\n'))
    await expect(recordsFromK6Json(file)).rejects.toThrow(`${file}:4: not JSON`)
  })

  it('throws on a drill write that lacks its attempt tag, naming the line', async () => {
    const file = path.join(scratch, 'no-attempt.json')
    const point = {
      type: 'Point',
      metric: 'http_req_duration',
      data: { time: '2026-03-02T10:00:01Z', value: 5, tags: { kind: 'write', logical_id: 'r1-9', status: '201' } },
    }
    await fs.writeFile(file, JSON.stringify(point) + '\n')
    await expect(recordsFromK6Json(file)).rejects.toThrow(`${file}:1: tag attempt missing`)
  })
})
