// A drill's report in words: the markdown written beside its records and picture, and the plain
// table printed on the terminal when several scenarios run.

/** @typedef {import('./timeline-svg.mjs').TimelineMark} TimelineMark */

/**
 * What the verification found, comparing the acknowledged writes with the rows the database holds.
 * @typedef {object} DrillVerification
 * @property {number} acknowledged logical writes the client saw acknowledged
 * @property {number | null} lost acknowledged writes with no row (null: the rows could not be read)
 * @property {number | null} duplicated logical writes stored more than once (null: the rows could not be read)
 * @property {number} failed_but_stored writes the client gave up on that were stored all the same
 * @property {string[]} lost_ids
 * @property {string[]} duplicated_ids
 */

/**
 * @typedef {object} DrillReport
 * @property {string} scenario
 * @property {string} profile
 * @property {string} engine
 * @property {string} started_at ISO time
 * @property {{ rate: number, durationS: number } & Record<string, unknown>} settings
 * @property {Record<string, number | string | null>} figures
 * @property {DrillVerification} verification
 * @property {TimelineMark[]} marks
 * @property {string} picture the timeline SVG's file name, relative to the markdown
 * @property {boolean} passed
 * @property {string[]} failures why the run failed, one line each
 */

/** How many ids of lost or duplicated writes the markdown lists. */
export const MAX_LISTED_IDS = 20

/** Known figures: their label and unit, in the order the table shows them. Others follow under their own name. */
const FIGURES = /** @type {const} */ ([
  ['write_outage_s', 'Write outage', 's'],
  ['promotion_s', 'Promotion', 's'],
  ['reconnect_s', 'Client reconnect', 's'],
  ['rejoin_s', 'Old primary rejoined', 's'],
  ['acknowledged', 'Writes acknowledged', ''],
  ['client_errors', 'Client errors', ''],
  ['dropped', 'Dropped write slots', ''],
  ['p50_ms_before', 'Write latency p50 before the fault', 'ms'],
  ['p99_ms_before', 'Write latency p99 before the fault', 'ms'],
  ['p50_ms_during', 'Write latency p50 during the fault', 'ms'],
  ['p99_ms_during', 'Write latency p99 during the fault', 'ms'],
  ['p50_ms_after', 'Write latency p50 after the heal', 'ms'],
  ['p99_ms_after', 'Write latency p99 after the heal', 'ms'],
])

/**
 * The drill's report as markdown: result, settings, figures, verification, the timeline picture,
 * the marks and the failures.
 * @param {DrillReport} report
 * @returns {string}
 */
export function renderDrillMarkdown(report) {
  const lines = []
  lines.push(`# Failover drill: ${inline(report.scenario)} (${inline(report.profile)})`, '')
  lines.push(`**Result: ${report.passed ? 'PASS' : 'FAIL'}**`, '')
  const { rate, durationS, ...other } = report.settings
  const extra = Object.entries(other)
    .filter(([, v]) => v !== undefined && v !== null && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'))
    .map(([k, v]) => `${k} ${code(String(v))}`)
  lines.push(
    `Started ${inline(report.started_at)} on the ${inline(report.engine)} engine: ${formatValue(rate)} writes/s for ${formatValue(durationS)} s` +
      (extra.length > 0 ? ` (${extra.join(', ')}).` : '.'),
    '',
  )

  lines.push('## Figures', '', '| Figure | Value |', '| --- | ---: |')
  const known = new Set(FIGURES.map(([key]) => /** @type {string} */ (key)))
  for (const [key, label, unit] of FIGURES) {
    if (!(key in report.figures)) continue
    lines.push(`| ${inline(label)} | ${inline(withUnit(report.figures[key] ?? null, unit))} |`)
  }
  for (const [key, value] of Object.entries(report.figures)) {
    if (!known.has(key)) lines.push(`| ${code(key).replace(/\|/g, '\\|')} | ${inline(formatValue(value))} |`)
  }
  lines.push('')

  const v = report.verification
  const verified = v.lost === 0 && v.duplicated === 0
  if (v.lost === null || v.duplicated === null) {
    lines.push(
      '## Verification: NOT DONE',
      '',
      'The stored writes could not be read (see the failures): nothing is known about lost or duplicated writes.',
      '',
    )
  } else {
    lines.push(`## Verification: ${verified ? 'PASS' : 'FAIL'}`, '')
    lines.push(
      verified
        ? `Every acknowledged write is stored exactly once.`
        : `${v.lost === 0 ? 'No' : v.lost} acknowledged write${v.lost === 1 ? ' is' : 's are'} lost and ${v.duplicated === 0 ? 'no' : v.duplicated} write${v.duplicated === 1 ? ' is' : 's are'} stored more than once.`,
      '',
    )
    lines.push('| Check | Count |', '| --- | ---: |')
    lines.push(`| Acknowledged | ${v.acknowledged} |`)
    lines.push(`| Lost (acknowledged, not stored) | ${v.lost} |`)
    lines.push(`| Duplicated (stored more than once) | ${v.duplicated} |`)
    lines.push(`| Failed but stored (the client gave up; not a violation) | ${v.failed_but_stored} |`)
    lines.push('')
    if (v.lost_ids.length > 0) lines.push(`Lost: ${idList(v.lost_ids, v.lost)}`, '')
    if (v.duplicated_ids.length > 0) lines.push(`Duplicated: ${idList(v.duplicated_ids, v.duplicated)}`, '')
  }

  lines.push('## Timeline', '', `![timeline](${encodeURI(report.picture).replace(/[()]/g, (c) => (c === '(' ? '%28' : '%29'))})`, '')
  const start = Date.parse(report.started_at)
  if (report.marks.length > 0) {
    lines.push('| Event | At | Since start |', '| --- | --- | ---: |')
    for (const m of [...report.marks].sort((a, b) => a.at_ms - b.at_ms)) {
      const at = Number.isFinite(m.at_ms) ? new Date(m.at_ms).toISOString() : '—'
      const since = Number.isFinite(start) && Number.isFinite(m.at_ms) ? `${((m.at_ms - start) / 1000).toFixed(1)} s` : '—'
      lines.push(`| ${inline(m.label)} | ${at} | ${since} |`)
    }
    lines.push('')
  }

  lines.push('## Failures', '')
  if (report.failures.length === 0) lines.push(report.passed ? 'None.' : 'None listed.')
  else for (const f of report.failures) lines.push(`- ${inline(f)}`)
  lines.push('')
  return lines.join('\n')
}

/**
 * One aligned plain-text table of several drills, for the terminal.
 * @param {DrillReport[]} reports
 * @returns {string}
 */
export function renderDrillTable(reports) {
  /** @type {[string, 'left' | 'right', (r: DrillReport) => string][]} */
  const columns = [
    ['scenario', 'left', (r) => r.scenario],
    ['profile', 'left', (r) => r.profile],
    ['outage s', 'right', (r) => formatValue(r.figures.write_outage_s ?? null)],
    ['errors', 'right', (r) => formatValue(r.figures.client_errors ?? null)],
    ['dropped', 'right', (r) => formatValue(r.figures.dropped ?? null)],
    ['lost', 'right', (r) => formatValue(r.verification.lost)],
    ['duplicated', 'right', (r) => formatValue(r.verification.duplicated)],
    ['reconnect s', 'right', (r) => formatValue(r.figures.reconnect_s ?? null)],
    ['rejoin s', 'right', (r) => formatValue(r.figures.rejoin_s ?? null)],
    ['passed', 'left', (r) => (r.passed ? 'yes' : 'NO')],
  ]
  const rows = [columns.map(([name]) => name), ...reports.map((r) => columns.map(([, , get]) => get(r).replace(/\s+/g, ' ')))]
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  /** @param {string[]} row */
  const line = (row) =>
    columns
      .map(([, align], i) => {
        const text = row[i] ?? ''
        const width = widths[i] ?? 0
        return align === 'right' ? text.padStart(width) : text.padEnd(width)
      })
      .join('  ')
      .trimEnd()
  return [line(rows[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n') + '\n'
}

/**
 * A figure for people: null as a dash, integers as they are, others to two decimals at most.
 * @param {number | string | null} value
 */
export function formatValue(value) {
  if (value === null) return '—'
  if (typeof value === 'string') return value
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return String(value)
  return String(Math.round(value * 100) / 100)
}

/** @param {number | string | null} value @param {string} unit */
function withUnit(value, unit) {
  return value === null || unit === '' || typeof value === 'string' ? formatValue(value) : `${formatValue(value)} ${unit}`
}

/** The first ids of a list, then how many more there are. @param {string[]} ids @param {number} total */
function idList(ids, total) {
  const shown = ids.slice(0, MAX_LISTED_IDS).map(code)
  const more = Math.max(total, ids.length) - shown.length
  return shown.join(', ') + (more > 0 ? ` and ${more} more` : '')
}

/** Text as a markdown code span, whatever backticks it holds. @param {string} text */
function code(text) {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = longest > 0 || text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/**
 * Text on one line for a heading, a list item or a table cell: the characters that would make it
 * markup escaped, and no more, so that the file still reads well as plain text.
 * @param {string} text
 */
function inline(text) {
  return String(text)
    .replace(/\s+/g, ' ')
    .replace(/[\\`*[\]|]/g, (c) => `\\${c}`)
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/&(?=#?\w+;)/g, '&amp;')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
}
