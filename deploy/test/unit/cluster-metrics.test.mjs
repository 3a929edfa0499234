// The cluster's metrics (cluster-exporter.mjs) from the monitor's rows: who is primary, states,
// lag behind the primary, the verdict; a failed poll shows as pgha_monitor_up 0.
import { describe, expect, it } from 'vitest'
import { createClusterMetrics, lsnBytes } from '../../scripts/lib/cluster-metrics.mjs'

/**
 * A row of the monitor's view.
 * @param {string} name @param {string} reported @param {string} assigned @param {string} lsn @param {Record<string, unknown>} [extra]
 */
const node = (name, reported, assigned, lsn, extra = {}) => ({
  name,
  host: `10.0.0.${name.at(-1)}`,
  port: 5432,
  reported_state: reported,
  assigned_state: assigned,
  health: 1,
  pg_running: true,
  tli: 2,
  lsn,
  seconds_since_report: 0.5,
  ...extra,
})
/** The value of one series in the exposition text. @param {string} text @param {string} series */
const value = (text, series) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `) || l.startsWith(`${series.replace(/}$/, ',')}`))
  return line === undefined ? undefined : Number(line.split(' ').at(-1))
}

describe('cluster metrics', () => {
  it('reads pg_lsn as bytes', () => {
    expect(lsnBytes('0/0')).toBe(0)
    expect(lsnBytes('1/0')).toBe(2 ** 32)
    expect(lsnBytes('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848)
    expect(lsnBytes('nonsense')).toBeUndefined()
  })

  it("names the primary, each node's states and its lag, and the verdict", async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
    metrics.update(
      [
        node('node1', 'primary', 'primary', '0/5000100'),
        node('node2', 'secondary', 'secondary', '0/5000000'),
        node('node3', 'catchingup', 'secondary', '0/4000000', { health: 0 }),
      ],
      { lastPromotion: 1_790_000_000 },
    )
    const text = await metrics.registry.metrics()
    expect(value(text, 'pgha_node_is_primary{node="node1",formation="default"}')).toBe(1)
    expect(value(text, 'pgha_node_is_primary{node="node2",formation="default"}')).toBe(0)
    expect(value(text, 'pgha_node_replication_lag_bytes{node="node2",formation="default"}')).toBe(0x100)
    expect(value(text, 'pgha_node_replication_lag_bytes{node="node3",formation="default"}')).toBe(0x1000100)
    expect(value(text, 'pgha_node_healthy{node="node3",formation="default"}')).toBe(0)
    expect(text).toContain(
      'pgha_node_state{node="node3",host="10.0.0.3",port="5432",reported_state="catchingup",assigned_state="secondary",formation="default"} 1',
    )
    expect(value(text, 'pgha_cluster_healthy{formation="default"}')).toBe(0)
    expect(value(text, 'pgha_cluster_verdict{verdict="unhealthy",formation="default"}')).toBe(1)
    expect(value(text, 'pgha_cluster_writable_nodes{formation="default"}')).toBe(1)
    expect(value(text, 'pgha_last_promotion_timestamp_seconds{formation="default"}')).toBe(1_790_000_000)
  })

  it('keeps one state series per node when states change', async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 2 })
    metrics.update([node('node1', 'primary', 'primary', '0/1'), node('node2', 'secondary', 'secondary', '0/1')])
    metrics.update([node('node1', 'draining', 'demoted', '0/1'), node('node2', 'stop_replication', 'wait_primary', '0/1')])
    const text = await metrics.registry.metrics()
    expect(text.split('\n').filter((l) => l.startsWith('pgha_node_state{node="node1"'))).toHaveLength(1)
    expect(text).toContain('reported_state="draining",assigned_state="demoted"')
  })

  it('shows a failed poll', async () => {
    const metrics = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
    metrics.failed()
    const text = await metrics.registry.metrics()
    expect(value(text, 'pgha_monitor_up{formation="default"}')).toBe(0)
    expect(value(text, 'pgha_exporter_poll_errors_total{formation="default"}')).toBe(1)
  })
})
