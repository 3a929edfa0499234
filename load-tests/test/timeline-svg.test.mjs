import { describe, it, expect } from 'vitest'
import { renderTimelineSvg, escapeXml } from '../report/timeline-svg.mjs'

/** @typedef {import('../engine/records.mjs').AttemptRecord} AttemptRecord */

const T0 = 1_700_000_000_000

/**
 * 10 s of writes, one every 50 ms, acknowledged in 5 to 15 ms, except from 4 s to 7 s where each
 * write fails once (no answer) and a few slots are dropped.
 * @returns {AttemptRecord[]}
 */
function syntheticRun() {
  /** @type {AttemptRecord[]} */
  const records = []
  for (let i = 0; i < 200; i++) {
    const scheduled = T0 + i * 50
    const id = `run-${i}`
    const base = { kind: /** @type {const} */ ('write'), logical_id: id, key: id, scheduled_ms: scheduled, error: null, order_id: null }
    const offset = scheduled - T0
    if (offset >= 4000 && offset < 7000) {
      if (i % 10 === 0) {
        records.push({ ...base, key: null, attempt: 0, start_ms: null, end_ms: null, status: null, outcome: 'dropped' })
      } else {
        records.push({
          ...base,
          attempt: 1,
          start_ms: scheduled,
          end_ms: scheduled + 30,
          status: 0,
          outcome: 'retry',
          error: 'ECONNREFUSED',
        })
      }
      continue
    }
    records.push({
      ...base,
      attempt: 1,
      start_ms: scheduled,
      end_ms: scheduled + 5 + (i % 11),
      status: 201,
      outcome: 'acked',
      order_id: `o-${i}`,
    })
  }
  records.push({
    kind: 'read',
    logical_id: null,
    key: null,
    attempt: 1,
    scheduled_ms: T0 + 100,
    start_ms: T0 + 100,
    end_ms: T0 + 104,
    status: 200,
    outcome: 'ok',
    error: null,
    order_id: null,
  })
  return records
}

const MARKS = [
  { at_ms: T0 + 4000, label: 'fault' },
  { at_ms: T0 + 5500, label: 'promotion' },
  { at_ms: T0 + 7000, label: 'heal' },
  { at_ms: T0 + 7200, label: 'converged' },
]

/**
 * A small well-formedness check: every tag closed in order, attributes quoted, every `&` an entity,
 * no `<` or `>` loose in text.
 * @param {string} xml
 */
function checkWellFormed(xml) {
  /** @type {string[]} */
  const stack = []
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g
  let last = 0
  let roots = 0
  for (const m of xml.matchAll(tag)) {
    const between = xml.slice(last, m.index)
    if (/[<>]/.test(between)) throw new Error(`stray markup before offset ${m.index}: ${between.slice(0, 80)}`)
    last = (m.index ?? 0) + m[0].length
    const [, closing, name = '', , selfClosing] = m
    if (closing) {
      const open = stack.pop()
      if (open !== name) throw new Error(`</${name}> closes <${open}>`)
    } else if (!selfClosing) {
      if (stack.length === 0) roots++
      stack.push(name)
    } else if (stack.length === 0) roots++
  }
  if (/[<>]/.test(xml.slice(last))) throw new Error('stray markup at the end')
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(' > ')}`)
  if (roots !== 1) throw new Error(`${roots} root elements`)
  const amp = xml.match(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/)
  if (amp) throw new Error(`bare & at offset ${amp.index}`)
}

/** @param {string} svg @param {string} cls */
const count = (svg, cls) => svg.split(`class="${cls}"`).length - 1

describe('renderTimelineSvg', () => {
  const records = syntheticRun()
  const svg = renderTimelineSvg({ records, marks: MARKS, title: 'switchover (docker)' })

  it('renders one well-formed SVG document of about 1200×500', () => {
    expect(() => checkWellFormed(svg)).not.toThrow()
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="500"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(svg).toContain('switchover (docker)')
  })

  it('draws one green bar per 100 ms bucket with an acknowledged write, and none in the outage', () => {
    const ackBuckets = new Set(
      records.filter((r) => r.kind === 'write' && r.outcome === 'acked').map((r) => Math.floor(((r.end_ms ?? 0) - T0) / 100)),
    )
    expect(ackBuckets.size).toBe(70)
    expect(count(svg, 'ack')).toBe(ackBuckets.size)
    const failBuckets = new Set(records.filter((r) => r.outcome === 'retry').map((r) => Math.floor(((r.end_ms ?? 0) - T0) / 100)))
    expect(count(svg, 'fail')).toBe(failBuckets.size)
    const dropBuckets = new Set(records.filter((r) => r.outcome === 'dropped').map((r) => Math.floor((r.scheduled_ms - T0) / 100)))
    expect(count(svg, 'drop')).toBe(dropBuckets.size)

    // The 3 s gap: no green bar starts between the fault's line and the heal's.
    const xs = [...svg.matchAll(/<rect class="ack" x="([\d.]+)"/g)].map((m) => Number(m[1]))
    const markX = (/** @type {string} */ label) => Number(new RegExp(`<text x="([\\d.]+)"[^>]*>${label} `).exec(svg)?.[1]) - 4
    const [fault, heal] = [markX('fault'), markX('heal')]
    expect(heal).toBeGreaterThan(fault)
    expect(xs.filter((x) => x > fault + 1 && x < heal - 1)).toEqual([])
  })

  it('draws the latency of acknowledged writes: a p50 line and a max dot per bucket', () => {
    expect(count(svg, 'p50')).toBe(1)
    const maxGroup = /<g class="max"[^>]*>([\s\S]*?)<\/g>/.exec(svg)?.[1] ?? ''
    expect(maxGroup.split('<circle').length - 1).toBe(70)
    expect(svg).toContain('write latency, ms (log)')
  })

  it('draws each mark as a dashed line with its label and time', () => {
    expect(count(svg, 'mark')).toBe(MARKS.length)
    for (const label of ['fault 4.0 s', 'promotion 5.5 s', 'heal 7.0 s', 'converged 7.2 s']) expect(svg).toContain(`>${label}</text>`)
    const groups = [...svg.matchAll(/<g class="mark">([\s\S]*?)<\/g>/g)].map((m) => m[1] ?? '')
    for (const g of groups) expect(g).toMatch(/<path [^>]*stroke-dasharray=/)
    // Close marks do not share a label row.
    const heal = /<text x="([\d.]+)" y="([\d.]+)"[^>]*>heal /.exec(svg)
    const converged = /<text x="([\d.]+)" y="([\d.]+)"[^>]*>converged /.exec(svg)
    expect(heal?.[2]).not.toBe(converged?.[2])
  })

  it('escapes text for XML', () => {
    const out = renderTimelineSvg({ records, marks: [{ at_ms: T0 + 1000, label: 'a <&> "b"' }], title: 'x < y & z' })
    expect(() => checkWellFormed(out)).not.toThrow()
    expect(out).toContain('a &lt;&amp;&gt; &quot;b&quot;')
    expect(out).toContain('x &lt; y &amp; z')
    expect(out).not.toContain('<&>')
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;')
  })

  it('is pure: the same output for the same input, which it leaves alone', () => {
    const marks = [...MARKS].reverse()
    const before = JSON.stringify({ records, marks })
    const a = renderTimelineSvg({ records, marks, title: 't' })
    expect(renderTimelineSvg({ records, marks, title: 't' })).toBe(a)
    expect(JSON.stringify({ records, marks })).toBe(before)
  })

  it('takes the bucket width and skips marks before the first record', () => {
    const out = renderTimelineSvg({ records, marks: [{ at_ms: T0 - 5000, label: 'early' }], bucketMs: 1000 })
    expect(() => checkWellFormed(out)).not.toThrow()
    expect(out).toContain('writes per 1 s')
    expect(out).not.toContain('early')
    expect(count(out, 'ack')).toBe(7)
    expect(() => renderTimelineSvg({ records, bucketMs: 0 })).toThrow(RangeError)
  })

  it('renders a run with no records, or no acknowledged write', () => {
    const empty = renderTimelineSvg({ records: [], title: 'empty' })
    expect(() => checkWellFormed(empty)).not.toThrow()
    expect(empty).toContain('no records')
    const failing = renderTimelineSvg({ records: records.filter((r) => r.outcome !== 'acked'), marks: MARKS })
    expect(() => checkWellFormed(failing)).not.toThrow()
    expect(count(failing, 'ack')).toBe(0)
    expect(failing).toContain('no acknowledged writes')
  })
})
