// Prometheus metrics: counts are counters (`_total`), fed from db-ha's pool snapshots on scrape.
import type { HaPool } from '@pg-ha/db-ha'
import { describe, expect, it } from 'vitest'
import { createMetrics } from '../../src/metrics/metrics.js'

function fakePool(figures: { failoversObserved: number; rediscoveries: number }) {
  const snapshot = () => ({
    currentHost: '10.0.0.11:5432',
    lastRediscoveryMs: 12,
    connectionsPerHost: { '10.0.0.11:5432': 1 },
    suspectHosts: [],
    stuckHosts: [],
    ...figures,
  })
  return { snapshot, totalCount: 1, idleCount: 1, waitingCount: 0 } as unknown as HaPool
}

describe('db-ha metrics', () => {
  it('exports failovers observed and rediscoveries as counters that follow the pools', async () => {
    const primary = { failoversObserved: 2, rediscoveries: 5 }
    const replica = { failoversObserved: 0, rediscoveries: 0 }
    const { registry } = createMetrics({ primary: fakePool(primary), replica: fakePool(replica) })

    let text = await registry.metrics()
    expect(text).toContain('# TYPE dbha_failovers_observed_total counter')
    expect(text).toContain('# TYPE dbha_rediscoveries_total counter')
    expect(text).toContain('dbha_failovers_observed_total{pool="primary"} 2')
    expect(text).toContain('dbha_failovers_observed_total{pool="replica"} 0')
    expect(text).toContain('dbha_rediscoveries_total{pool="primary"} 5')
    expect(text).not.toMatch(/^dbha_failovers_observed[{ ]/m)
    expect(text).not.toMatch(/^dbha_rediscoveries[{ ]/m)

    primary.failoversObserved = 3
    primary.rediscoveries = 9
    text = await registry.metrics()
    expect(text).toContain('dbha_failovers_observed_total{pool="primary"} 3')
    expect(text).toContain('dbha_rediscoveries_total{pool="primary"} 9')
  })
})
