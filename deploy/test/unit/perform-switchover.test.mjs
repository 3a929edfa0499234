// performSwitchover: the monitor refusing a switchover right after a node settled (exit 6) is
// tried again; a switchover already under way is not asked for twice; anything else fails at once.
import { describe, expect, it } from 'vitest'
import { performSwitchover } from '../../scripts/lib/day2.mjs'

const inventory = /** @type {any} */ ({
  formation: 'default',
  monitor: { host: 'vm3-monitor', pgdata: '/var/lib/postgresql/pgaf/monitor' },
})
const settled = [
  { name: 'node1', reported_state: 'primary', assigned_state: 'primary' },
  { name: 'node2', reported_state: 'secondary', assigned_state: 'secondary' },
]
const refused = { exitCode: 6, stdout: '', stderr: 'ERROR: cannot fail over: primary node is not in a stable state' }

/**
 * A runtime whose `pg` answers from a script of results; `views` are the monitor's views, in turn.
 * @param {Array<{exitCode: number, stdout: string, stderr: string}>} results @param {any[][]} [views]
 */
function fakeRuntime(results, views = []) {
  /** @type {string[][]} */
  const calls = []
  const runtime = /** @type {any} */ ({
    async pg(/** @type {unknown} */ _host, /** @type {string[]} */ argv) {
      calls.push(argv)
      const next = results.shift()
      if (!next) throw new Error('no more results')
      return next
    },
    async clusterNodes() {
      return views.length > 1 ? views.shift() : (views[0] ?? settled)
    },
  })
  return { runtime, calls }
}

describe('performSwitchover', () => {
  it('asks again while the monitor refuses, until it accepts', async () => {
    const { runtime, calls } = fakeRuntime([refused, refused, { exitCode: 0, stdout: '', stderr: '' }])
    await performSwitchover({ inventory, runtime }, { intervalMs: 1 })
    expect(calls).toHaveLength(3)
    expect(calls[0]).toEqual([
      'pg_autoctl',
      'perform',
      'switchover',
      '--pgdata',
      '/var/lib/postgresql/pgaf/monitor',
      '--formation',
      'default',
    ])
  })

  it('promotes a named node the same way', async () => {
    const { runtime, calls } = fakeRuntime([{ exitCode: 0, stdout: '', stderr: '' }])
    await performSwitchover({ inventory, runtime }, { to: 'node2', intervalMs: 1 })
    expect(calls[0]?.slice(0, 5)).toEqual(['pg_autoctl', 'perform', 'promotion', '--name', 'node2'])
  })

  it('does not ask twice once the switchover is under way (the client gave up waiting for it)', async () => {
    const draining = [{ ...settled[0], assigned_state: 'draining' }, settled[1]]
    const { runtime, calls } = fakeRuntime([refused], [settled, draining])
    await performSwitchover({ inventory, runtime }, { intervalMs: 1 })
    expect(calls).toHaveLength(1)
  })

  it("fails with the exit code and the monitor's words once the time is up, at once for any other exit", async () => {
    const stuck = fakeRuntime(Array.from({ length: 1000 }, () => refused))
    await expect(performSwitchover({ inventory, runtime: stuck.runtime }, { timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'pg_autoctl perform switchover on vm3-monitor exited 6: ERROR: cannot fail over: primary node is not in a stable state',
    )
    expect(stuck.calls.length).toBeGreaterThan(1)
    const other = fakeRuntime([{ exitCode: 1, stdout: '', stderr: 'unknown option' }, refused])
    await expect(performSwitchover({ inventory, runtime: other.runtime }, { intervalMs: 1 })).rejects.toThrow(/exited 1: unknown option/)
    expect(other.calls).toHaveLength(1)
  })
})
