// The drill's picture: one hand-written SVG of what the client saw while the fault hit the primary.
// Top panel, per bucket of time: writes acknowledged (green, up) against failed write attempts and
// dropped slots (red and orange, down), so an outage shows as a gap in the green. Bottom panel: the
// latency of the acknowledged writes per bucket (p50 and max, log scale). Dashed lines mark the
// drill's moments (fault, promotion, heal, converged). A pure function of the records: no I/O.

/** @typedef {import('../engine/records.mjs').AttemptRecord} AttemptRecord */

/**
 * A moment of the drill drawn as a labelled dashed line.
 * @typedef {object} TimelineMark
 * @property {number} at_ms epoch ms
 * @property {string} label such as `fault`, `promotion`, `heal`, `converged`
 */

/**
 * @typedef {object} TimelineOptions
 * @property {AttemptRecord[]} records
 * @property {TimelineMark[]} [marks]
 * @property {string} [title]
 * @property {number} [bucketMs] width of a bar, in ms (100)
 */

const WIDTH = 1200
const HEIGHT = 500
const LEFT = 76
const RIGHT = 24
const PLOT_W = WIDTH - LEFT - RIGHT
const TITLE_Y = 26
const LEGEND_Y = 50
/** Baseline of the first row of mark labels, above the top panel; each further row takes MARK_ROW_H. */
const MARK_ROW_Y = 72
const MARK_ROW_H = 13
/** Rows of mark labels at most: marks closer than that share a row, and their labels may touch. */
const MARK_ROWS_MAX = 5
/** Share of the top panel above its zero line (acknowledged writes); the rest is for failures. */
const UP_SHARE = 0.62
const BOTTOM_Y = 326
/** Gap between the top panel and the bottom one. */
const PANEL_GAP = 20
const BOTTOM_H = 116
const X_LABEL_Y = BOTTOM_Y + BOTTOM_H + 15
const X_TITLE_Y = X_LABEL_Y + 22

const COLOR = {
  ack: '#2f9e55',
  fail: '#d64541',
  drop: '#f0932b',
  p50: '#1f5fbf',
  max: '#9b59b6',
  mark: '#444',
  axis: '#888',
  grid: '#e6e6e6',
  text: '#222',
  muted: '#666',
}
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"

/**
 * The drill's timeline as an SVG document (about 1200×500).
 * The time axis is in seconds from the earliest record's `scheduled_ms`. Writes are counted per
 * `bucketMs`: acknowledged attempts and failed ones (`retry`, `rejected`) by `end_ms`, dropped slots
 * by `scheduled_ms`; latency is `end_ms - start_ms` of the acknowledged attempts. Reads are not drawn.
 * @param {TimelineOptions} options
 * @returns {string}
 */
export function renderTimelineSvg({ records, marks = [], title = 'Failover drill', bucketMs = 100 }) {
  if (!(Number.isFinite(bucketMs) && bucketMs > 0)) throw new RangeError(`bucketMs must be a positive number, got ${bucketMs}`)
  /** @type {string[]} */
  const out = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${escapeXml(FONT)}" font-size="11" fill="${COLOR.text}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${LEFT}" y="${TITLE_Y}" font-size="16" font-weight="600">${escapeXml(title)}</text>`,
  )

  const times = records.map((r) => r.scheduled_ms).filter(Number.isFinite)
  if (times.length === 0) {
    out.push(
      `<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle" fill="${COLOR.muted}" font-size="14">no records</text>`,
      '</svg>',
    )
    return out.join('\n') + '\n'
  }
  const t0 = Math.min(...times)
  let tEnd = t0
  for (const r of records) {
    for (const t of [r.scheduled_ms, r.start_ms, r.end_ms]) if (t !== null && Number.isFinite(t) && t > tEnd) tEnd = t
  }
  const shownMarks = marks.filter((m) => Number.isFinite(m.at_ms) && m.at_ms >= t0)
  for (const m of shownMarks) if (m.at_ms > tEnd) tEnd = m.at_ms

  const buckets = Math.floor((tEnd - t0) / bucketMs) + 1
  const spanMs = buckets * bucketMs
  const acked = new Array(buckets).fill(0)
  const failed = new Array(buckets).fill(0)
  const dropped = new Array(buckets).fill(0)
  /** @type {number[][]} */
  const latencies = Array.from({ length: buckets }, () => [])
  /** @param {number} t */
  const bucketOf = (t) => Math.min(buckets - 1, Math.max(0, Math.floor((t - t0) / bucketMs)))
  let totalAcked = 0
  let totalFailed = 0
  let totalDropped = 0
  for (const r of records) {
    if (r.kind !== 'write') continue
    if (r.outcome === 'dropped') {
      dropped[bucketOf(r.scheduled_ms)]++
      totalDropped++
    } else if (r.end_ms === null || !Number.isFinite(r.end_ms)) {
      continue
    } else if (r.outcome === 'acked') {
      const i = bucketOf(r.end_ms)
      acked[i]++
      totalAcked++
      if (r.start_ms !== null && Number.isFinite(r.start_ms)) latencies[i]?.push(Math.max(0, r.end_ms - r.start_ms))
    } else if (r.outcome === 'retry' || r.outcome === 'rejected') {
      failed[bucketOf(r.end_ms)]++
      totalFailed++
    }
  }

  /** @param {number} ms offset from t0 */
  const xOf = (ms) => LEFT + (ms / spanMs) * PLOT_W
  // Each mark's label goes in the first row above the top panel where it clears the labels before
  // it; the top panel starts below the rows used.
  /** @type {number[]} */
  const rowEnds = []
  const placed = [...shownMarks]
    .sort((a, b) => a.at_ms - b.at_ms)
    .map((m) => {
      const x = r1(xOf(m.at_ms - t0))
      const text = `${m.label} ${formatSeconds((m.at_ms - t0) / 1000, 0.1)} s`
      const w = textWidth(text)
      const flip = x + 4 + w > WIDTH - RIGHT
      const start = flip ? x - 4 - w : x
      let row = rowEnds.findIndex((end) => start > end + 8)
      if (row < 0) row = rowEnds.length < MARK_ROWS_MAX ? rowEnds.length : rowEnds.indexOf(Math.min(...rowEnds))
      rowEnds[row] = flip ? x : x + 4 + w
      return { x, text, flip, baseline: MARK_ROW_Y + row * MARK_ROW_H }
    })
  const topY = MARK_ROW_Y + Math.max(1, rowEnds.length) * MARK_ROW_H - 4
  const topH = BOTTOM_Y - PANEL_GAP - topY

  const bucketW = PLOT_W / buckets
  const barW = bucketW >= 4 ? bucketW - 1 : Math.max(bucketW, 0.6)

  out.push(
    `<text x="${WIDTH - RIGHT}" y="${TITLE_Y}" text-anchor="end" fill="${COLOR.muted}">${totalAcked} writes acknowledged · ${totalFailed} failed attempts · ${totalDropped} dropped</text>`,
    legend(),
  )

  // Time ticks and grid, shared by both panels.
  const stepS = timeStep(spanMs / 1000)
  /** @type {string[]} */
  const grid = []
  /** @type {string[]} */
  const xLabels = []
  for (let s = 0; s * 1000 <= spanMs + 1e-6; s += stepS) {
    const x = r1(xOf(s * 1000))
    grid.push(`M${x} ${topY}V${topY + topH}M${x} ${BOTTOM_Y}V${BOTTOM_Y + BOTTOM_H}`)
    xLabels.push(`<text x="${x}" y="${X_LABEL_Y}" text-anchor="middle">${formatSeconds(s, stepS)}</text>`)
  }
  out.push(`<path d="${grid.join('')}" stroke="${COLOR.grid}" stroke-width="1" fill="none"/>`)
  out.push(`<g fill="${COLOR.muted}">`, ...xLabels, '</g>')
  out.push(
    `<text x="${LEFT + PLOT_W / 2}" y="${X_TITLE_Y}" text-anchor="middle" fill="${COLOR.muted}">seconds since the first write was due</text>`,
  )

  // Top panel: acknowledged writes up, failed attempts and dropped slots down.
  const zeroY = topY + topH * UP_SHARE
  const upH = topH * UP_SHARE
  const downH = topH - upH
  const up = countScale(Math.max(...acked))
  const down = countScale(Math.max(...failed.map((f, i) => f + (dropped[i] ?? 0))))
  /** @type {string[]} */
  const yTicks = []
  for (let v = up.step; v <= up.top; v += up.step) {
    const y = r1(zeroY - (v / up.top) * upH)
    yTicks.push(
      `<path d="M${LEFT} ${y}H${LEFT + PLOT_W}" stroke="${COLOR.grid}"/>`,
      `<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" fill="${COLOR.muted}">${v}</text>`,
    )
  }
  for (let v = down.step; v <= down.top; v += down.step) {
    const y = r1(zeroY + (v / down.top) * downH)
    yTicks.push(
      `<path d="M${LEFT} ${y}H${LEFT + PLOT_W}" stroke="${COLOR.grid}"/>`,
      `<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" fill="${COLOR.muted}">${v}</text>`,
    )
  }
  yTicks.push(`<text x="${LEFT - 6}" y="${r1(zeroY + 4)}" text-anchor="end" fill="${COLOR.muted}">0</text>`)
  out.push(...yTicks)
  out.push(axisTitle(`writes per ${formatMs(bucketMs)}`, topY + topH / 2))

  out.push(`<g shape-rendering="crispEdges">`)
  for (let i = 0; i < buckets; i++) {
    const x = r1(xOf(i * bucketMs))
    const w = r1(barW)
    const a = acked[i] ?? 0
    const f = failed[i] ?? 0
    const d = dropped[i] ?? 0
    if (a > 0) {
      const h = r1((a / up.top) * upH)
      out.push(`<rect class="ack" x="${x}" y="${r1(zeroY - h)}" width="${w}" height="${h}" fill="${COLOR.ack}"/>`)
    }
    if (f > 0) {
      const h = r1((f / down.top) * downH)
      out.push(`<rect class="fail" x="${x}" y="${r1(zeroY)}" width="${w}" height="${h}" fill="${COLOR.fail}"/>`)
    }
    if (d > 0) {
      const y = zeroY + (f / down.top) * downH
      const h = r1((d / down.top) * downH)
      out.push(`<rect class="drop" x="${x}" y="${r1(y)}" width="${w}" height="${h}" fill="${COLOR.drop}"/>`)
    }
  }
  out.push('</g>')
  out.push(
    `<path d="M${LEFT} ${r1(zeroY)}H${LEFT + PLOT_W}" stroke="${COLOR.axis}" stroke-width="1"/>`,
    `<rect x="${LEFT}" y="${topY}" width="${PLOT_W}" height="${topH}" fill="none" stroke="${COLOR.axis}"/>`,
  )

  // Bottom panel: latency of the acknowledged writes, log scale.
  /** @type {(number | null)[]} */
  const p50 = latencies.map((l) => (l.length === 0 ? null : percentile(l, 0.5)))
  /** @type {(number | null)[]} */
  const max = latencies.map((l) => (l.length === 0 ? null : Math.max(...l)))
  const present = /** @type {number[]} */ ([...p50, ...max].filter((v) => v !== null))
  if (present.length === 0) {
    out.push(
      `<text x="${LEFT + PLOT_W / 2}" y="${BOTTOM_Y + BOTTOM_H / 2 + 4}" text-anchor="middle" fill="${COLOR.muted}">no acknowledged writes</text>`,
    )
  } else {
    const lo = Math.floor(Math.log10(Math.max(1, Math.min(...present))))
    let hi = Math.ceil(Math.log10(Math.max(1, Math.max(...present))))
    if (hi <= lo) hi = lo + 1
    /** @param {number} v */
    const yOf = (v) => BOTTOM_Y + BOTTOM_H - ((Math.log10(Math.max(1, v)) - lo) / (hi - lo)) * BOTTOM_H
    const fine = hi - lo <= 2
    for (let k = lo; k <= hi; k++) {
      for (const m of fine ? [1, 2, 5] : [1]) {
        const v = m * 10 ** k
        if (k === hi && m > 1) continue
        const y = r1(yOf(v))
        if (k > lo || m > 1) out.push(`<path d="M${LEFT} ${y}H${LEFT + PLOT_W}" stroke="${COLOR.grid}"/>`)
        out.push(`<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" fill="${COLOR.muted}">${v}</text>`)
      }
    }
    out.push(axisTitle('write latency, ms (log)', BOTTOM_Y + BOTTOM_H / 2))
    // The max as dots (a line through a noisy max hides the p50), the p50 as a line broken where
    // a bucket had no acknowledged write.
    const dotR = Math.min(2, Math.max(1.3, bucketW / 3))
    out.push(`<g class="max" fill="${COLOR.max}">`)
    max.forEach((v, i) => {
      if (v !== null) out.push(`<circle cx="${r1(xOf((i + 0.5) * bucketMs))}" cy="${r1(yOf(v))}" r="${dotR}"/>`)
    })
    out.push('</g>')
    /** @type {string[]} */
    const segments = []
    /** @type {string[]} */
    let run = []
    const flush = () => {
      if (run.length > 1) segments.push('M' + run.join('L'))
      else if (run.length === 1) segments.push(`M${run[0]}h0.01`)
      run = []
    }
    p50.forEach((v, i) => {
      if (v === null) flush()
      else run.push(`${r1(xOf((i + 0.5) * bucketMs))} ${r1(yOf(v))}`)
    })
    flush()
    out.push(
      `<path class="p50" d="${segments.join('')}" stroke="${COLOR.p50}" stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round" fill="none"/>`,
    )
  }
  out.push(`<rect x="${LEFT}" y="${BOTTOM_Y}" width="${PLOT_W}" height="${BOTTOM_H}" fill="none" stroke="${COLOR.axis}"/>`)

  // Marks, placed above the top panel with their labels.
  for (const m of placed) {
    out.push(
      `<g class="mark">`,
      `<path d="M${m.x} ${m.baseline + 3}V${BOTTOM_Y + BOTTOM_H}" stroke="${COLOR.mark}" stroke-width="1.2" stroke-dasharray="5 4" fill="none"/>`,
      `<text x="${m.flip ? m.x - 4 : m.x + 4}" y="${m.baseline}"${m.flip ? ' text-anchor="end"' : ''} font-weight="600" fill="${COLOR.mark}">${escapeXml(m.text)}</text>`,
      '</g>',
    )
  }

  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** The legend row under the title. */
function legend() {
  /** @type {[string, string, 'bar' | 'line' | 'dot' | 'dash', number][]} */
  const items = [
    ['writes acknowledged', COLOR.ack, 'bar', 0],
    ['failed write attempts', COLOR.fail, 'bar', 0],
    ['dropped write slots', COLOR.drop, 'bar', 0],
    ['p50 latency', COLOR.p50, 'line', 1.8],
    ['max latency', COLOR.max, 'dot', 2],
    ['drill event', COLOR.mark, 'dash', 1.2],
  ]
  const parts = ['<g class="legend">']
  let x = LEFT
  for (const [label, color, shape, width] of items) {
    if (shape === 'bar') parts.push(`<rect x="${x}" y="${LEGEND_Y - 9}" width="12" height="10" fill="${color}"/>`)
    else if (shape === 'dot')
      parts.push(
        `<circle cx="${x + 3}" cy="${LEGEND_Y - 4}" r="${width}" fill="${color}"/><circle cx="${x + 9}" cy="${LEGEND_Y - 7}" r="${width}" fill="${color}"/><circle cx="${x + 14}" cy="${LEGEND_Y - 3}" r="${width}" fill="${color}"/>`,
      )
    else
      parts.push(
        `<path d="M${x} ${LEGEND_Y - 4}h16" stroke="${color}" stroke-width="${width}"${shape === 'dash' ? ' stroke-dasharray="5 3"' : ''}/>`,
      )
    const tx = x + (shape === 'bar' ? 17 : 21)
    parts.push(`<text x="${tx}" y="${LEGEND_Y}">${escapeXml(label)}</text>`)
    x = tx + textWidth(label) + 22
  }
  parts.push('</g>')
  return parts.join('\n')
}

/** @param {string} text @param {number} centerY */
function axisTitle(text, centerY) {
  const x = 18
  return `<text x="${x}" y="${r1(centerY)}" transform="rotate(-90 ${x} ${r1(centerY)})" text-anchor="middle" fill="${COLOR.muted}">${escapeXml(text)}</text>`
}

/**
 * A count axis with round ticks: at least 1, about three ticks.
 * @param {number} max
 */
function countScale(max) {
  const step = niceCeil(Math.max(1, max / 3))
  return { step, top: Math.max(step, Math.ceil(max / step) * step) }
}

/** The smallest 1, 2 or 5 × 10^k at least `v`. @param {number} v */
function niceCeil(v) {
  const k = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 5, 10]) if (m * k >= v - 1e-9) return m * k
  return 10 * k
}

/** A round step for the time axis, giving at most about fourteen ticks. @param {number} spanS */
function timeStep(spanS) {
  for (const step of [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]) if (spanS / step <= 14) return step
  return niceCeil(spanS / 14)
}

/** @param {number} s @param {number} step */
function formatSeconds(s, step) {
  const digits = step < 1 ? 1 : 0
  return (Math.round(s * 10 ** digits) / 10 ** digits).toFixed(digits)
}

/** @param {number} ms */
function formatMs(ms) {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/** Nearest-rank percentile. @param {number[]} values non-empty @param {number} q */
function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0
}

/** Rough width of 11 px text, for placing labels. @param {string} text */
function textWidth(text) {
  return text.length * 6.1
}

/** @param {number} v */
function r1(v) {
  return Math.round(v * 10) / 10
}

/**
 * Text made safe for XML content and attribute values.
 * @param {string} text
 */
export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
}
