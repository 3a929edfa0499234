import { describe, it, expect } from 'vitest'
import { renderDrillMarkdown, renderDrillTable, MAX_LISTED_IDS } from '../report/report-markdown.mjs'

/** @typedef {import('../report/report-markdown.mjs').DrillReport} DrillReport */

const STARTED = '2026-01-05T10:00:00.000Z'
const T0 = Date.parse(STARTED)

/** @param {Partial<DrillReport>} [overrides] @returns {DrillReport} */
function report(overrides = {}) {
  return {
    scenario: 'switchover',
    profile: 'docker',
    engine: 'node',
    started_at: STARTED,
    settings: { rate: 50, durationS: 60, readRate: 10 },
    figures: {
      write_outage_s: 3.214,
      client_errors: 152,
      dropped: 0,
      p50_ms_before: 8.5,
      p99_ms_before: 21,
      p50_ms_during: 1200.456,
      p99_ms_during: 4100,
      p50_ms_after: 9,
      p99_ms_after: 30,
      promotion_s: 2.1,
      reconnect_s: 3.3,
      rejoin_s: null,
      acknowledged: 2998,
      old_primary: 'node2',
    },
    verification: { acknowledged: 2998, lost: 0, duplicated: 0, failed_but_stored: 2, lost_ids: [], duplicated_ids: [] },
    marks: [
      { at_ms: T0 + 20_000, label: 'fault' },
      { at_ms: T0 + 22_100, label: 'promotion' },
    ],
    picture: 'switchover-docker.svg',
    passed: true,
    failures: [],
    ...overrides,
  }
}

describe('renderDrillMarkdown', () => {
  it('shows the result, the settings, every figure and the verification', () => {
    const md = renderDrillMarkdown(report())
    expect(md).toMatch(/^# Failover drill: switchover \(docker\)\n/)
    expect(md).toContain('**Result: PASS**')
    expect(md).toContain('on the node engine: 50 writes/s for 60 s (readRate `10`).')
    expect(md).toContain('| Figure | Value |')
    expect(md).toContain('| Write outage | 3.21 s |')
    expect(md).toContain('| Client errors | 152 |')
    expect(md).toContain('| Dropped write slots | 0 |')
    expect(md).toContain('| Write latency p50 during the fault | 1200.46 ms |')
    expect(md).toContain('| Old primary rejoined | — |')
    expect(md).toContain('| Writes acknowledged | 2998 |')
    expect(md).toContain('| `old_primary` | node2 |')
    expect(md).toContain('## Verification: PASS')
    expect(md).toContain('Every acknowledged write is stored exactly once.')
    expect(md).toContain('| Lost (acknowledged, not stored) | 0 |')
    expect(md).toContain('| Failed but stored (the client gave up; not a violation) | 2 |')
    expect(md).toContain('![timeline](switchover-docker.svg)')
    expect(md).toContain('| promotion | 2026-01-05T10:00:22.100Z | 22.1 s |')
    expect(md).toContain('## Failures\n\nNone.')
    expect(md).not.toContain('FAIL')
  })

  it('says FAIL and lists the lost ids, the first 20 and how many more', () => {
    const lostIds = Array.from({ length: 25 }, (_, i) => `run-${i}`)
    const md = renderDrillMarkdown(
      report({
        passed: false,
        verification: { acknowledged: 3000, lost: 25, duplicated: 1, failed_but_stored: 0, lost_ids: lostIds, duplicated_ids: ['run-99'] },
        failures: ['25 acknowledged writes lost', 'write success rate 0.98 < 0.999'],
      }),
    )
    expect(md).toContain('**Result: FAIL**')
    expect(md).toContain('## Verification: FAIL')
    expect(md).toContain('25 acknowledged writes are lost and 1 write is stored more than once.')
    const lostLine = md.split('\n').find((l) => l.startsWith('Lost: ')) ?? ''
    expect(MAX_LISTED_IDS).toBe(20)
    for (const id of lostIds.slice(0, 20)) expect(lostLine).toContain(`\`${id}\``)
    expect(lostLine).not.toContain('`run-20`')
    expect(lostLine.endsWith(' and 5 more')).toBe(true)
    expect(md).toContain('Duplicated: `run-99`\n')
    expect(md).toContain('## Failures\n\n- 25 acknowledged writes lost\n- write success rate 0.98 < 0.999\n')
  })

  it('counts the ids left out from the total when the list was cut short', () => {
    const md = renderDrillMarkdown(
      report({
        passed: false,
        verification: { acknowledged: 10, lost: 500, duplicated: 0, failed_but_stored: 0, lost_ids: ['a', 'b'], duplicated_ids: [] },
      }),
    )
    expect(md).toContain('Lost: `a`, `b` and 498 more')
  })

  it('keeps table cells and the heading intact whatever the text holds', () => {
    const md = renderDrillMarkdown(
      report({ scenario: 'part|ition\n# x', figures: { 'a|b': 'x|y' }, marks: [{ at_ms: T0, label: 'he|al' }], picture: 'a (1).svg' }),
    )
    expect(md.split('\n')[0]).toBe('# Failover drill: part\\|ition # x (docker)')
    expect(md).toContain('| `a\\|b` | x\\|y |')
    expect(md).toContain('| he\\|al |')
    expect(md).toContain('![timeline](a%20%281%29.svg)')
    const failures = renderDrillMarkdown(report({ passed: false, failures: ['rate 0.98 < 0.999 for *all* <script> & run_1 _x_'] }))
    expect(failures).toContain('- rate 0.98 < 0.999 for \\*all\\* &lt;script> & run_1 \\_x\\_\n')
  })
})

describe('renderDrillTable', () => {
  it('prints one aligned row per drill', () => {
    const failed = report({
      scenario: 'power-off-primary',
      profile: 'vm',
      passed: false,
      figures: { write_outage_s: 12.5, client_errors: 40, dropped: 3, reconnect_s: 13, rejoin_s: 95.25 },
      verification: { acknowledged: 10, lost: 1, duplicated: 0, failed_but_stored: 0, lost_ids: ['x'], duplicated_ids: [] },
    })
    const text = renderDrillTable([report(), failed])
    const lines = text.trimEnd().split('\n')
    expect(lines).toHaveLength(4)
    const [header = '', rule = '', first = '', second = ''] = lines
    expect(header.split(/\s{2,}/)).toEqual([
      'scenario',
      'profile',
      'outage s',
      'errors',
      'dropped',
      'lost',
      'duplicated',
      'reconnect s',
      'rejoin s',
      'passed',
    ])
    expect(rule).toMatch(/^[- ]+$/)
    expect(first.split(/\s+/)).toEqual(['switchover', 'docker', '3.21', '152', '0', '0', '0', '3.3', '—', 'yes'])
    expect(second.split(/\s+/)).toEqual(['power-off-primary', 'vm', '12.5', '40', '3', '1', '0', '13', '95.25', 'NO'])
    // Numbers right-aligned under their heading, text left-aligned.
    const end = (/** @type {string} */ line, /** @type {string} */ word) => line.indexOf(word) + word.length
    expect(end(first, ' 3.21')).toBe(end(header, 'outage s'))
    expect(end(second, ' 12.5')).toBe(end(header, 'outage s'))
    expect(end(second, ' 95.25')).toBe(end(header, 'rejoin s'))
    expect(first.indexOf('yes')).toBe(header.indexOf('passed'))
    expect(second.indexOf('NO')).toBe(header.indexOf('passed'))
    expect(first.indexOf('docker')).toBe(header.indexOf('profile'))
  })
})
