// Which host discovery takes when several qualify for read-write/primary: the newest timeline,
// then a host not stuck, then candidate order; and which hosts count as stuck.
import { describe, expect, it } from 'vitest'
import { HostState } from '../src/pool/host-state.js'
import { comparesTimelines, preferNewestTimeline, type QualifiedHost } from '../src/pool/newest-timeline.js'
import { TARGET_SESSION_ATTRS } from '../src/settings/connection-settings.js'

const a = { host: '10.0.0.11', port: 5432 }
const b = { host: '10.0.0.12', port: 5432 }
const c = { host: '10.0.0.13', port: 5433 }
const q = (host: QualifiedHost['host'], timeline: number | null, stuck = false): QualifiedHost => ({ host, timeline, stuck })
const choice = (...qualified: QualifiedHost[]) => preferNewestTimeline(qualified)?.host

describe('preferNewestTimeline', () => {
  it('takes the newest timeline whatever the order', () => {
    expect(choice(q(a, 3), q(b, 4))).toBe(b)
    expect(choice(q(b, 4), q(a, 3))).toBe(b)
    expect(choice(q(a, 7), q(b, 12), q(c, 9))).toBe(b)
  })

  it('ranks a host whose timeline is unknown after any known one', () => {
    expect(choice(q(a, null), q(b, 1))).toBe(b)
    expect(choice(q(a, null), q(b, null))).toBe(a)
  })

  it('among equal timelines, prefers a host that is not stuck, then the order given', () => {
    expect(choice(q(a, 5, true), q(b, 5))).toBe(b)
    expect(choice(q(a, 5), q(b, 5), q(c, 5))).toBe(a)
    expect(choice(q(a, 5, true), q(b, 5, true), q(c, 5))).toBe(c)
    expect(choice(q(a, 5, true), q(b, 5, true))).toBe(a)
  })

  it('still takes a stuck host on the newest timeline over a healthy older one: writes to the older are rewound away', () => {
    expect(choice(q(a, 4), q(b, 5, true))).toBe(b)
  })

  it('keeps the only host, and has nothing to choose from nothing', () => {
    expect(choice(q(a, null, true))).toBe(a)
    expect(choice()).toBeUndefined()
  })
})

describe('comparesTimelines', () => {
  it('only for the targets served by the one primary', () => {
    expect(TARGET_SESSION_ATTRS.filter(comparesTimelines)).toEqual(['read-write', 'primary'])
  })
})

describe('stuck hosts', () => {
  it('are the suspects whose statements timed out or commits were not replicated, until they match again', () => {
    const state = new HostState(10_000)
    const events: unknown[] = []
    state.on('host-suspect', (e) => events.push(e))
    state.matched(a)
    state.suspect(a, 'Query read timeout', { stuck: true })
    state.suspect(b, 'Connection terminated unexpectedly')
    expect([state.isStuck(a), state.isStuck(b)]).toEqual([true, false])
    expect(state.snapshot()).toMatchObject({
      currentHost: null,
      suspectHosts: ['10.0.0.11:5432', '10.0.0.12:5432'],
      stuckHosts: ['10.0.0.11:5432'],
    })
    expect(events).toEqual([
      { host: '10.0.0.11:5432', reason: 'Query read timeout', stuck: true },
      { host: '10.0.0.12:5432', reason: 'Connection terminated unexpectedly', stuck: false },
    ])
    // Chosen again (no other host qualified): no longer stuck, no longer last.
    state.matched(a)
    expect(state.isStuck(a)).toBe(false)
    expect(state.snapshot().stuckHosts).toEqual([])
    expect(state.order([b, c, a])).toEqual([a, c, b])
  })
})
