// deploy/observability: the Grafana dashboard type-checked against Grafana's own dashboard model
// (@grafana/schema, through the TypeScript compiler), every PromQL expression parsed with
// Prometheus's grammar and each metric it names found among those the API and the cluster
// exporter register, and prometheus.yml scraping both on the ports they listen on by default.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultDashboard } from '@grafana/schema'
import { parser } from '@prometheus-io/lezer-promql'
import client from 'prom-client'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { createClusterMetrics } from '../../scripts/lib/cluster-metrics.mjs'

const deployDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const repoRoot = path.dirname(deployDir)
const dashboardFile = path.join(deployDir, 'observability/grafana-dashboard.json')
const prometheusFile = path.join(deployDir, 'observability/prometheus.yml')
/** Read, never imported: deploy does not depend on apps/api. */
const apiMetricsFile = path.join(repoRoot, 'apps/api/src/metrics/metrics.ts')
const apiEnvFile = path.join(repoRoot, 'apps/api/src/config/env.ts')
const exporterFile = path.join(deployDir, 'scripts/cluster-exporter.mjs')

const dashboardText = fs.readFileSync(dashboardFile, 'utf8')
/** @type {Record<string, any>} */
const dashboard = JSON.parse(dashboardText)

// ---------------------------------------------------------------------------------------------
// (a) Grafana's dashboard model, from @grafana/schema. The package ships TypeScript types only (no
// JSON schema), so the JSON is pasted as an object literal into a TypeScript source that the
// compiler checks against them. A literal keeps its literal types ("timeseries", "list") and gets
// excess-property checks (a misspelled field is an error), which a `resolveJsonModule` import would
// not: there every string widens to `string`. Grafana's enums (LegendDisplayMode, MappingType, ...)
// are mapped to the string values a JSON file holds.

const PANELCFG = '@grafana/schema/dist/esm/raw/composable'
const checkPrelude = `
import type { AnnotationQuery, Dashboard, DataQuery, DataSourceRef } from '@grafana/schema'
import type { FieldConfig, FieldConfigSource, GridPos, Panel, RowPanel } from '@grafana/schema'
import type * as Stat from '${PANELCFG}/stat/panelcfg/x/StatPanelCfg_types.gen'
import type * as StateTimeline from '${PANELCFG}/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen'
import type * as Table from '${PANELCFG}/table/panelcfg/x/TablePanelCfg_types.gen'
import type * as TimeSeries from '${PANELCFG}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen'

/** A type as JSON holds it: string enums become the union of their values. */
type Json<T> = 0 extends 1 & T ? T
  : T extends string ? \`\${T}\`
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T
/** A Prometheus query as Grafana saves it (PromQuery of Grafana's Prometheus data source). */
interface PromQuery extends DataQuery {
  expr: string
  datasource: DataSourceRef
  legendFormat?: string
  instant?: boolean
  range?: boolean
  format?: 'time_series' | 'table' | 'heatmap'
  editorMode?: 'code' | 'builder'
  interval?: string
  exemplar?: boolean
}
/** A panel of one visualization: Grafana's Panel with that plugin's options and field config. */
type Viz<T extends string, O, F> = Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  id: number
  title: string
  type: T
  datasource: DataSourceRef
  gridPos: GridPos
  targets: PromQuery[]
  options: O
  fieldConfig: Omit<FieldConfigSource, 'defaults'> & { defaults: Omit<FieldConfig, 'custom'> & { custom?: F } }
}
type KitPanel =
  | Viz<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>
  | Viz<'stat', Stat.Options, never>
  | Viz<'state-timeline', StateTimeline.Options, StateTimeline.FieldConfig>
  | Viz<'table', Table.Options, Table.FieldConfig>
type KitRow = Omit<RowPanel, 'panels'> & { id: number; panels: KitPanel[] }
/** Grafana's Dashboard, its annotations' queries being Prometheus's (AnnotationQuery's TQuery). */
type GrafanaDashboard = Omit<Dashboard, 'annotations'> & { annotations: { list: AnnotationQuery<PromQuery>[] } }
type KitDashboard = Omit<GrafanaDashboard, 'panels'> & { panels: (KitPanel | KitRow)[] }
`

/**
 * TypeScript's errors for the dashboard, each with its line in the JSON file: checked once as
 * Grafana's Dashboard, once with each panel's own options (KitDashboard above).
 * @param {string} json the dashboard file's text
 * @returns {string[]}
 */
function dashboardTypeErrors(json) {
  const file = path.join(deployDir, 'observability/grafana-dashboard.check.ts') // never written
  const lines = (/** @type {string} */ text) => text.split('\n').length - 1
  const head = `${checkPrelude}\nexport const asGrafana: Json<GrafanaDashboard> =\n`
  const middle = `${json.trimEnd()}\nexport const asKit: Json<KitDashboard> =\n`
  const source = `${head}${middle}${json.trimEnd()}\n`
  const [first, second] = [lines(head), lines(head) + lines(middle)]
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  }
  const host = ts.createCompilerHost(options)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (name) => name === file || fileExists(name)
  host.readFile = (name) => (name === file ? source : readFile(name))
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest)
  const program = ts.createProgram([file], options, host)
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    if (!d.file || d.start === undefined) return message
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    if (d.file.fileName !== file) return `${d.file.fileName}:${line + 1}: ${message}`
    if (line < first) return `the check's prelude:${line + 1}: ${message}`
    const [as, start] = line < second ? ['Dashboard', first] : ['KitDashboard', second]
    return `grafana-dashboard.json:${line - start + 1} (as ${as}): ${message}`
  })
}

/** Every panel, rows' nested panels included. */
function allPanels() {
  /** @type {Array<Record<string, any>>} */
  const panels = dashboard.panels ?? []
  return panels.flatMap((p) => [p, ...(p.panels ?? [])])
}
const vizPanels = () => allPanels().filter((p) => p.type !== 'row')

describe('the Grafana dashboard', () => {
  it("type-checks against Grafana's dashboard model (@grafana/schema) and each panel plugin's options", () => {
    expect(dashboardTypeErrors(dashboardText)).toEqual([])
  })

  it('the type check catches a misspelled field, an unknown option value and a missing required option', () => {
    const broken = JSON.parse(dashboardText)
    const timeseries = broken.panels.find((/** @type {any} */ p) => p.type === 'timeseries')
    timeseries.gridPoss = timeseries.gridPos
    timeseries.options.legend.displayMode = 'lists'
    delete broken.panels.find((/** @type {any} */ p) => p.type === 'stat').options.reduceOptions
    const errors = dashboardTypeErrors(JSON.stringify(broken, null, 2)).join('\n')
    expect(errors).toMatch(/gridPoss\W+ does not exist/)
    expect(errors).toMatch(/"lists"/)
    expect(errors).toMatch(/reduceOptions/)
  })

  it('is of the schema version the current Grafana writes, with a Prometheus data source variable every query uses', () => {
    expect(dashboard.schemaVersion).toBe(defaultDashboard.schemaVersion)
    /** @type {Array<Record<string, any>>} */
    const variables = dashboard.templating.list
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' })
    const queries = [
      ...vizPanels().flatMap((p) => [p, ...p.targets]),
      ...variables.filter((v) => v.type === 'query'),
      ...dashboard.annotations.list.filter((/** @type {any} */ a) => !a.builtIn).flatMap((/** @type {any} */ a) => [a, a.target]),
    ]
    for (const q of queries) expect(q.datasource, JSON.stringify(q).slice(0, 120)).toEqual({ type: 'prometheus', uid: '${datasource}' })
    const defined = new Set(variables.map((v) => v.name))
    for (const expr of promqlExpressions()) {
      for (const [, name] of expr.matchAll(/\$\{?(\w+)/g)) if (!name?.startsWith('__')) expect(defined, expr).toContain(name)
    }
  })

  it('has unique panel ids, visualizations that fit, and panels that do not overlap on the 24-column grid', () => {
    const panels = allPanels()
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length)
    for (const p of vizPanels()) {
      expect(['timeseries', 'stat', 'state-timeline', 'table']).toContain(p.type)
      expect(p.targets.length, p.title).toBeGreaterThan(0)
    }
    for (const [i, a] of panels.entries()) {
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24)
      for (const b of panels.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y
        expect(apart, `${a.title} / ${b.title}`).toBe(true)
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// (b) Metric names: each PromQL selector's metric must be one the API or the exporter registers.

/** Grafana's interval variables, which are not PromQL: any duration parses the same. */
const GRAFANA_DURATIONS = /\$__(rate_interval|interval|range)\b/g

/** Every PromQL expression of the dashboard: panels' and annotations' queries, variables' label_values. */
function promqlExpressions() {
  const targets = vizPanels().flatMap((p) => p.targets.map((/** @type {any} */ t) => String(t.expr)))
  const annotations = dashboard.annotations.list.flatMap((/** @type {any} */ a) => (a.target?.expr ? [String(a.target.expr)] : []))
  const variables = dashboard.templating.list.flatMap((/** @type {any} */ v) => {
    if (v.type !== 'query') return []
    const query = String(typeof v.query === 'string' ? v.query : v.query.query)
    const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1]
    if (!selector) throw new Error(`variable ${v.name}: expected label_values(<selector>, <label>), got ${query}`)
    return [selector]
  })
  return [...targets, ...annotations, ...variables]
}

/**
 * The metric names an expression selects, by Prometheus's own grammar (lezer-promql).
 * @param {string} expr
 */
function selectedMetrics(expr) {
  const promql = expr.replace(GRAFANA_DURATIONS, '5m')
  /** @type {string[]} */
  const names = []
  /** @type {string[]} */
  const problems = []
  parser.parse(promql).iterate({
    enter(node) {
      if (node.type.isError) problems.push(`syntax error at ${node.from}: ${JSON.stringify(promql.slice(node.from, node.from + 20))}`)
      if (node.name !== 'VectorSelector') return
      const identifier = node.node.getChild('Identifier')
      if (identifier) names.push(promql.slice(identifier.from, identifier.to))
      else problems.push(`a selector without a metric name: ${promql.slice(node.from, node.to)}`)
    },
  })
  if (problems.length > 0) throw new Error(`${expr}: ${problems.join('; ')}`)
  return names
}

/** @typedef {{names: Set<string>, histograms: Set<string>}} Registered */

/**
 * What the API registers, read from its source (apps/api/src/metrics/metrics.ts): metrics created
 * with `name: '...'` or through its per-pool helpers, and prom-client's default metrics when it
 * calls collectDefaultMetrics.
 * @returns {Registered}
 */
function apiMetrics() {
  const source = fs.readFileSync(apiMetricsFile, 'utf8')
  const names = new Set(
    [...source.matchAll(/(?:\bname:\s*|\bperPool(?:Count)?\(\s*)'([a-zA-Z_:][\w:]*)'/g)].map((m) => /** @type {string} */ (m[1])),
  )
  const histograms = new Set([...source.matchAll(/new Histogram\(\{\s*name:\s*'([\w:]+)'/g)].map((m) => /** @type {string} */ (m[1])))
  if (/\bcollectDefaultMetrics\(/.test(source)) {
    const defaults = new client.Registry()
    client.collectDefaultMetrics({ register: defaults })
    for (const metric of defaults.getMetricsAsArray()) {
      const name = /** @type {{name: string}} */ (/** @type {unknown} */ (metric)).name
      names.add(name)
      if (metric instanceof client.Histogram || metric instanceof client.Summary) histograms.add(name)
    }
  }
  return { names, histograms }
}

/** What the cluster exporter serves: its registry, created as cluster-exporter.mjs does. @returns {Registered} */
function exporterMetrics() {
  const { registry } = createClusterMetrics({ formation: 'default', expectedNodes: 3 })
  const metrics = registry.getMetricsAsArray()
  const name = (/** @type {unknown} */ m) => /** @type {{name: string}} */ (m).name
  return {
    names: new Set(metrics.map(name)),
    histograms: new Set(metrics.filter((m) => m instanceof client.Histogram || m instanceof client.Summary).map(name)),
  }
}

/** Series Prometheus itself writes for every target. */
const PROMETHEUS_SERIES = new Set(['up'])

/**
 * The names in `exprs` that nobody registers (a histogram's _bucket, _sum and _count count as it).
 * @param {string[]} exprs @param {Registered[]} sources
 */
function unknownMetrics(exprs, sources) {
  const names = new Set([...PROMETHEUS_SERIES, ...sources.flatMap((s) => [...s.names])])
  const histograms = new Set(sources.flatMap((s) => [...s.histograms]))
  const known = (/** @type {string} */ name) => {
    const series = /^(.+)_(bucket|sum|count)$/.exec(name)?.[1]
    return names.has(name) || (series !== undefined && histograms.has(series))
  }
  return [...new Set(exprs.flatMap(selectedMetrics))].filter((n) => !known(n))
}

describe("the dashboard's PromQL", () => {
  const sources = [apiMetrics(), exporterMetrics()]

  it("reads the metric names from the API's source and the exporter's registry", () => {
    const [api, exporter] = sources
    for (const name of [
      'http_requests_total',
      'http_request_duration_seconds',
      'db_request_retries_total',
      'dbha_current_host_info',
      'dbha_failovers_observed_total',
      'dbha_connections',
      'dbha_pool_waiting_requests',
    ])
      expect(api?.names).toContain(name)
    expect(api?.histograms).toContain('http_request_duration_seconds')
    for (const name of [
      'pgha_node_is_primary',
      'pgha_node_state',
      'pgha_node_replication_lag_bytes',
      'pgha_last_promotion_timestamp_seconds',
      'pgha_monitor_up',
    ])
      expect(exporter?.names).toContain(name)
  })

  it('parses, and names only metrics the API or the cluster exporter registers', () => {
    const exprs = promqlExpressions()
    expect(exprs.length).toBeGreaterThan(20)
    expect(unknownMetrics(exprs, sources)).toEqual([])
  })

  it('the check catches a misspelled metric, a suffix on a non-histogram and a syntax error', () => {
    expect(unknownMetrics(['sum(rate(http_request_total{route="/x"}[$__rate_interval]))'], sources)).toEqual(['http_request_total'])
    expect(unknownMetrics(['rate(http_request_duration_seconds_bucket[5m])', 'pgha_monitor_up_count'], sources)).toEqual([
      'pgha_monitor_up_count',
    ])
    expect(() => selectedMetrics('sum(rate(up[5m])')).toThrow(/syntax error/)
  })
})

// ---------------------------------------------------------------------------------------------
// (c) prometheus.yml: parses, scrapes the API and the exporter on the ports they listen on by default.

const UNIT_SECONDS = new Map([
  ['ms', 0.001],
  ['s', 1],
  ['m', 60],
  ['h', 3600],
])
/** A Prometheus duration ("5s", "1m") in seconds. @param {unknown} text */
function seconds(text) {
  const match = /^(\d+)(ms|s|m|h)$/.exec(String(text))
  if (!match) throw new Error(`not a Prometheus duration: ${String(text)}`)
  return Number(match[1]) * (UNIT_SECONDS.get(String(match[2])) ?? NaN)
}

describe('prometheus.yml', () => {
  const document = YAML.parseDocument(fs.readFileSync(prometheusFile, 'utf8'))
  /** @type {{global: Record<string, string>, scrape_configs: Array<Record<string, any>>}} */
  const config = document.toJS()
  const job = (/** @type {string} */ name) => config.scrape_configs.find((j) => j.job_name === name)
  const ports = (/** @type {Record<string, any> | undefined} */ j) =>
    (j?.static_configs ?? []).flatMap((/** @type {{targets: string[]}} */ s) => s.targets.map((t) => Number(/:(\d+)$/.exec(t)?.[1])))

  it('parses, with unique jobs whose timeouts fit in their intervals', () => {
    expect(document.errors).toEqual([])
    const names = config.scrape_configs.map((j) => j.job_name)
    expect(new Set(names).size).toBe(names.length)
    for (const j of config.scrape_configs) {
      const interval = seconds(j.scrape_interval ?? config.global.scrape_interval)
      expect(seconds(j.scrape_timeout ?? config.global.scrape_timeout), j.job_name).toBeLessThanOrEqual(interval)
    }
  })

  it('scrapes the API on its default port (PORT in apps/api/src/config/env.ts)', () => {
    const port = Number(/\bPORT:.*\.default\((\d+)\)/.exec(fs.readFileSync(apiEnvFile, 'utf8'))?.[1])
    expect(port).toBeGreaterThan(0)
    expect(job('pgha-api')?.metrics_path).toBe('/metrics')
    expect(ports(job('pgha-api'))).not.toEqual([])
    for (const p of ports(job('pgha-api'))) expect(p).toBe(port)
  })

  it('scrapes the cluster exporter on its default --listen port (cluster-exporter.mjs)', () => {
    const listen = /args\.listen \?\? '([^']+)'/.exec(fs.readFileSync(exporterFile, 'utf8'))?.[1]
    const port = Number(/:(\d+)$/.exec(listen ?? '')?.[1])
    expect(port).toBeGreaterThan(0)
    expect(job('pgha-cluster-exporter')?.metrics_path).toBe('/metrics')
    expect(ports(job('pgha-cluster-exporter'))).not.toEqual([])
    for (const p of ports(job('pgha-cluster-exporter'))) expect(p).toBe(port)
  })

  it('has every job the dashboard selects by name', () => {
    const jobs = new Set(config.scrape_configs.map((j) => j.job_name))
    const selected = promqlExpressions().flatMap((e) => [...e.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1]))
    expect(selected.length).toBeGreaterThan(0)
    for (const name of selected) expect(jobs).toContain(name)
  })
})
