// status asks the monitor for synchronous_standby_names only while a node is assigned a writable
// state: pg_auto_failover 2.0's function crashes the monitor's Postgres without one (2 nodes).
import { describe, expect, it } from 'vitest'
import { createPgAutoctlCore } from '../../scripts/lib/runtimes/pg-autoctl-core.mjs'

// Only what synchronousStandbyNames reads of an inventory.
const inventory = /** @type {import('../../scripts/lib/inventory.mjs').Inventory} */ (
  /** @type {unknown} */ ({ formation: 'default', monitor: { host: 'm', address: '10.0.0.13', port: 5431 } })
)

function coreRecordingCalls() {
  /** @type {Array<{host: string, argv: string[], input: string | undefined}>} */
  const calls = []
  /** @type {import('../../scripts/lib/runtimes/pg-autoctl-core.mjs').Exec} */
  const exec = async (host, argv, { input } = {}) => {
    calls.push({ host: host.host, argv, input })
    return { exitCode: 0, stdout: '[{"names":"ANY 1 (pgautofailover_standby_2)"}]\n', stderr: '' }
  }
  return { core: createPgAutoctlCore(inventory, { exec }), calls }
}

describe('synchronousStandbyNames', () => {
  it('does not ask while no node is assigned a writable state (mid-failover)', async () => {
    const { core, calls } = coreRecordingCalls()
    const midFailover = [{ assigned_state: 'demote_timeout' }, { assigned_state: 'report_lsn' }]
    expect(await core.synchronousStandbyNames(midFailover)).toBeNull()
    expect(calls).toEqual([])
  })

  it('asks the monitor once a node is assigned single, primary, wait_primary, join_primary or apply_settings', async () => {
    for (const goal of ['single', 'primary', 'wait_primary', 'join_primary', 'apply_settings']) {
      const { core, calls } = coreRecordingCalls()
      expect(await core.synchronousStandbyNames([{ assigned_state: goal }, { assigned_state: 'secondary' }])).toBe(
        'ANY 1 (pgautofailover_standby_2)',
      )
      expect(calls).toHaveLength(1)
      expect(calls[0]?.input).toContain("pgautofailover.synchronous_standby_names('default', 0)")
    }
  })
})
