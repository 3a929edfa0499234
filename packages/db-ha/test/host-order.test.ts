// The order discovery tries the hosts in: the DSN's order (or a shuffle per connection with
// load_balance_hosts=random), the remembered host first, suspects last.
import { describe, expect, it } from 'vitest'
import { candidateHosts, shuffle } from '../src/pool/host-order.js'
import { HostState } from '../src/pool/host-state.js'
import type { HostSpec } from '../src/settings/connection-settings.js'

const a: HostSpec = { host: '10.0.0.11', port: 5432 }
const b: HostSpec = { host: '10.0.0.12', port: 5432 }
const c: HostSpec = { host: '10.0.0.13', port: 5433 }
// Same address as c, another port: another host.
const c2: HostSpec = { host: '10.0.0.13', port: 5434 }
const hosts = [a, b, c, c2]

// A random() that returns the values given, in turn.
const sequence = (...values: number[]) => {
  let i = 0
  return () => values[i++ % values.length] ?? 0
}

describe('candidateHosts with load_balance_hosts=disable', () => {
  it('keeps the DSN order on a fresh pool', () => {
    expect(candidateHosts(hosts, new HostState(10_000), 'disable')).toEqual(hosts)
  })

  it('puts the remembered host first and keeps the others in DSN order', () => {
    const state = new HostState(10_000)
    state.matched(c)
    expect(candidateHosts(hosts, state, 'disable')).toEqual([c, a, b, c2])
  })

  it('puts suspects last, in DSN order among themselves', () => {
    const state = new HostState(10_000)
    state.suspect(b, 'Connection terminated unexpectedly')
    state.suspect(a, 'ECONNREFUSED')
    expect(candidateHosts(hosts, state, 'disable')).toEqual([c, c2, a, b])
  })

  it('a suspect that was remembered loses its place; one that matches again gets it back', () => {
    const state = new HostState(10_000)
    state.matched(a)
    state.suspect(a, 'admin_shutdown')
    expect(state.current).toBeNull()
    expect(candidateHosts(hosts, state, 'disable')).toEqual([b, c, c2, a])
    state.matched(a)
    expect(candidateHosts(hosts, state, 'disable')).toEqual(hosts)
  })

  it('tells hosts apart by hostaddr when given, and by port', () => {
    const byName = { host: 'db.example', port: 5432 }
    const byAddr = { host: 'db.example', hostaddr: '10.0.0.21', port: 5432 }
    const state = new HostState(10_000)
    state.suspect(byAddr, 'ECONNREFUSED')
    state.suspect(c2, 'ECONNREFUSED')
    expect(candidateHosts([byAddr, byName, c2, c], state, 'disable')).toEqual([byName, c, byAddr, c2])
  })

  it('leaves the list it was given untouched', () => {
    const state = new HostState(10_000)
    state.suspect(a, 'ECONNREFUSED')
    const list = [...hosts]
    candidateHosts(list, state, 'disable')
    expect(list).toEqual(hosts)
  })
})

describe('candidateHosts with load_balance_hosts=random', () => {
  it('shuffles the DSN order for every connection', () => {
    const state = new HostState(10_000, { remember: false })
    // Fisher-Yates from the end: j = floor(r * (i + 1)) for i = 3, 2, 1.
    expect(candidateHosts(hosts, state, 'random', sequence(0, 0, 0))).toEqual([b, c, c2, a])
    expect(candidateHosts(hosts, state, 'random', sequence(0.99, 0.99, 0.99))).toEqual(hosts)
    expect(candidateHosts(hosts, state, 'random', sequence(0.5, 0.5, 0.5))).toEqual([a, c2, b, c])
  })

  it('still puts suspects last, in shuffled order', () => {
    const state = new HostState(10_000, { remember: false })
    state.suspect(b, 'ECONNREFUSED')
    expect(candidateHosts(hosts, state, 'random', sequence(0, 0, 0))).toEqual([c, c2, a, b])
  })

  it('remembers no host: a match does not move it first', () => {
    const state = new HostState(10_000, { remember: false })
    state.matched(c2)
    expect(state.current).toBeNull()
    expect(candidateHosts(hosts, state, 'random', sequence(0.99, 0.99, 0.99))).toEqual(hosts)
  })
})

describe('shuffle', () => {
  it('returns a permutation, and leaves its input alone', () => {
    const input = [1, 2, 3, 4, 5]
    for (let i = 0; i < 50; i++) expect([...shuffle(input)].sort()).toEqual([1, 2, 3, 4, 5])
    expect(input).toEqual([1, 2, 3, 4, 5])
    expect(shuffle([])).toEqual([])
  })

  it('gives every host every place with Math.random', () => {
    const firsts = new Set(Array.from({ length: 400 }, () => shuffle(hosts)[0]))
    const lasts = new Set(Array.from({ length: 400 }, () => shuffle(hosts).at(-1)))
    expect(firsts).toEqual(new Set(hosts))
    expect(lasts).toEqual(new Set(hosts))
  })
})
