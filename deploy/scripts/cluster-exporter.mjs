#!/usr/bin/env node
// cluster-exporter: the cluster's state as Prometheus metrics (lib/cluster-metrics.mjs), from the
// monitor, for deploy/observability's scrape config and dashboard. Runs until stopped (SIGTERM).
//
// Steps: 1. validate the inventory and the flags (exit 2 on bad input, nothing started)
//        2. serve GET /metrics on --listen (default 127.0.0.1:9187)
//        3. every --interval seconds (default 5): the monitor's node table and its last
//           stop_replication event; a failed poll sets pgha_monitor_up 0 and keeps the last values.
//           With a group "backup", also the last backup and the primary's archiving (backup-status.mjs)
// usage: cluster-exporter.mjs --inventory <file> [--listen <address:port>] [--interval <s>]
import http from 'node:http'
import { readBackupStatus } from './lib/backup-status.mjs'
import { createClusterMetrics, lastPromotionSql } from './lib/cluster-metrics.mjs'
import { InputError } from '../lib/errors.mjs'
import { runClusterScript } from './lib/script-main.mjs'

const USAGE = 'usage: cluster-exporter.mjs --inventory <file> [--listen <address:port>] [--interval <seconds>]'

/** @param {import('./lib/script-main.mjs').ScriptRun} run */
async function main({ args, progress, loadContext }) {
  const listen = /^(?<address>[^\s]+):(?<port>\d{1,5})$/.exec(args.listen ?? '127.0.0.1:9187')?.groups
  if (!listen || Number(listen.port) < 1 || Number(listen.port) > 65535)
    throw new InputError(`--listen "${args.listen}" is not <address>:<port>; ${USAGE}`)
  const intervalS = Number(args.interval ?? 5)
  if (!Number.isFinite(intervalS) || intervalS < 1 || intervalS > 3600)
    throw new InputError(`--interval "${args.interval}" must be a number of seconds from 1 to 3600`)
  const { inventory, runtime } = await loadContext()
  const metrics = createClusterMetrics({ formation: inventory.formation, expectedNodes: inventory.nodes.length })

  async function poll() {
    try {
      const nodes = await runtime.clusterNodes()
      const [row] = await runtime.sqlJson(inventory.monitor, lastPromotionSql(inventory.formation), { db: 'pg_auto_failover' })
      metrics.update(nodes, { lastPromotion: row?.at ?? null })
      const backup = await readBackupStatus({ inventory, runtime }, nodes)
      if (backup) metrics.updateBackup(backup)
    } catch (error) {
      metrics.failed()
      progress.info('poll', `the monitor did not answer: ${String(/** @type {Error} */ (error).message).split('\n')[0]}`)
    }
  }
  await poll()

  const server = http.createServer(async (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n')
      return
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics())
  })
  await new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new InputError(`--listen ${listen.address}:${listen.port}: ${error.message}`)))
    server.listen(Number(listen.port), listen.address, () => resolve(undefined))
  })
  progress.info('serving', `http://${listen.address}:${listen.port}/metrics, polling the monitor every ${intervalS} s`)
  setInterval(poll, intervalS * 1000)
  // Until SIGTERM/SIGINT: script-main ends the process then, with exit 0.
  await new Promise(() => {})
}

await runClusterScript({ name: 'cluster-exporter', usage: USAGE, string: ['listen', 'interval'], service: true, main })
