// Clients writing through the API while the primary is switched over, then powered off. A client
// retries a failed write with the same Idempotency-Key, as ours are told to. Every acknowledged
// (2xx) order must be in the database exactly once; a switchover must cost latency, not errors.
// The check counts rows by the order's note, which carries the logical write id and has no unique
// index: counting by idempotency_key (unique) could never see a second row.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { json, orderBody, post, startApi, type RunningApi } from '../support/api-harness.js'
import { clusterStatus, labFault, primaryOf, switchover, until, vmOf } from '../support/lab-cluster.js'

const cluster = inject('labCluster')
const WRITERS = 4
let api: RunningApi

beforeAll(async () => {
  api = await startApi(cluster.databaseUrl, { DB_RETRY_BUDGET_MS: '30000' })
})
afterAll(async () => {
  await api.close()
})

interface Run {
  acked: Map<string, string>
  errorResponses: number[]
}

/** Writers post orders until stopped; a non-2xx answer is retried with the same key. */
async function writeAround(fault: () => Promise<void>, recover: () => Promise<void>): Promise<Run> {
  const run: Run = { acked: new Map(), errorResponses: [] }
  const runId = randomUUID().slice(0, 8)
  let stop = false
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const key = `${runId}-${w}-${i}`
      const body = { ...orderBody(i), note: noteOf(key) }
      for (let attempt = 0; ; attempt++) {
        const res = await post(`${api.url}/v1/orders`, body, { 'idempotency-key': key }).catch(() => null)
        if (res?.ok) {
          run.acked.set(key, (await json(res)).id)
          break
        }
        run.errorResponses.push(res?.status ?? 0)
        await res?.body?.cancel()
        if (attempt > 300) throw new Error(`write ${key} never succeeded`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
  })
  await until(async () => run.acked.size >= 40, 30_000, 'writes before the fault')
  await fault()
  const before = run.acked.size
  await until(async () => run.acked.size >= before + 40, 120_000, 'writes after the fault')
  await recover()
  await until(async () => (await clusterStatus(cluster)).healthy, 120_000, 'a healthy cluster')
  stop = true
  await Promise.all(writers)
  return run
}

/** The logical write id, in the order's note (no unique index there, unlike idempotency_key). */
function noteOf(key: string) {
  return `lw:${key}`
}

/** Rows per logical id of this run: none (lost), more than one (duplicated), or not the acknowledged order (changed). */
async function expectStoredOnce({ acked }: Run) {
  const keys = [...acked.keys()]
  const { rows } = await api.deps.pool.query<{ note: string; id: string; n: number }>(
    'select note, min(id)::text as id, count(*)::int as n from orders where note = any($1) group by note', [keys.map(noteOf)])
  const stored = rows.map((r) => ({ key: r.note.slice(noteOf('').length), id: r.id, n: r.n }))
  const found = new Set(stored.map((r) => r.key))
  const lost = keys.filter((k) => !found.has(k))
  const duplicated = stored.filter((r) => r.n > 1)
  const changed = stored.filter((r) => acked.get(r.key) !== r.id)
  expect({ lost, duplicated, changed }).toEqual({ lost: [], duplicated: [], changed: [] })
}

describe('writes through the API across a failover', () => {
  it('switchover: every write acknowledged once, no error answers', async () => {
    const run = await writeAround(() => switchover(cluster), async () => {})
    await expectStoredOnce(run)
    expect(run.errorResponses).toEqual([])
    expect(api.deps.pool.snapshot().failoversObserved).toBeGreaterThanOrEqual(1)
  })

  it('power-off of the primary: every acknowledged write stored exactly once', async () => {
    // VM3 also carries the monitor: powering it off would leave nobody to promote a standby.
    if ((await primaryOf(cluster)).name === 'node3') await switchover(cluster, 'node1')
    const vm = vmOf(cluster, (await primaryOf(cluster)).host)
    const run = await writeAround(() => labFault(cluster, 'power-off', vm), () => labFault(cluster, 'restart', vm))
    await expectStoredOnce(run)
    process.stdout.write(`power-off: ${run.acked.size} writes acknowledged; ${run.errorResponses.length} error answers (retried with the same key): ${JSON.stringify(countBy(run.errorResponses))}\n`)
    expect(run.errorResponses.every((status) => status === 503 || status === 0)).toBe(true)
  })
})

function countBy(values: number[]) {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
