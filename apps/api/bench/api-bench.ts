// API benchmark on a lab cluster of its own: order writes at a fixed arrival rate through the API
// with Prisma over the db-ha pool, and over a plain pg.Pool pointed straight at the primary.
// Prints figures and writes bench/results/api-<timestamp>.json; asserts nothing about speed.
//
// Steps: 1. lab up + bring-up (lab-up.mjs --no-api), db:migrate
//        2. for each round, each mode in turn: the app in-process, RATE writes/s for SECONDS
//           (open model: requests start on schedule whether or not earlier ones finished)
//        3. writes/s achieved, p50/p99 latency, errors; ratio db-ha / plain
//        4. lab down (also on failure)
// usage: npm run bench:api -- [--rate 200] [--seconds 15] [--rounds 2]
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { pino } from 'pino'
import { createApp } from '../src/app.js'
import { loadEnv } from '../src/config/env.js'
import { createDeps } from '../src/deps.js'
import { PrismaClient } from '../src/generated/prisma/client.js'
import { createOrderRepository } from '../src/orders/order-repository.js'
import { startLabCluster, stopLabCluster, type LabCluster } from '@pg-ha/deploy/testing'

const LAB = { name: 'pghapib', subnet: '10.213.49.0/24' }
const run = promisify(execFile)
const apiDir = path.resolve(import.meta.dirname, '..')
const resultsDir = path.resolve(apiDir, '../../bench/results')

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
  },
})
const rate = Number(values.rate)
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
for (const [flag, value, max] of [
  ['rate', rate, 5000],
  ['seconds', seconds, 600],
  ['rounds', rounds, 20],
] as const) {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    process.stderr.write(`api-bench: --${flag} must be an integer from 1 to ${max}\n`)
    process.exit(2)
  }
}

const log = (line: string) => process.stderr.write(`api-bench: ${line}\n`)
type Mode = 'db-ha' | 'plain'
interface Sample {
  mode: Mode
  round: number
  sent: number
  ok: number
  errors: number
  writesPerSecond: number
  p50Ms: number
  p99Ms: number
}

async function main() {
  const results: Record<string, unknown> = { started_at: new Date().toISOString(), host: { cpus: os.cpus().length }, rate, seconds, rounds }
  let cluster: LabCluster | undefined
  try {
    log('lab up + bring-up')
    cluster = await startLabCluster(LAB)
    await run(process.execPath, ['--import', 'tsx', 'src/db/migrate-cli.ts'], {
      cwd: apiDir,
      env: { PATH: process.env.PATH, DATABASE_URL: cluster.databaseUrl },
    })
    const samples: Sample[] = []
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ['plain', 'db-ha'] as const) {
        const sample = await measure(cluster.databaseUrl, mode, round)
        samples.push(sample)
        log(JSON.stringify(sample))
      }
    }
    const summary = (mode: Mode) => {
      const mine = samples.filter((s) => s.mode === mode)
      const avg = (pick: (s: Sample) => number) => Math.round((mine.reduce((sum, s) => sum + pick(s), 0) / mine.length) * 10) / 10
      return {
        writes_per_second: avg((s) => s.writesPerSecond),
        p50_ms: avg((s) => s.p50Ms),
        p99_ms: avg((s) => s.p99Ms),
        errors: mine.reduce((n, s) => n + s.errors, 0),
      }
    }
    const plain = summary('plain')
    const haPool = summary('db-ha')
    Object.assign(results, {
      samples,
      plain_pg_pool: plain,
      db_ha: haPool,
      ratio_writes: Math.round((haPool.writes_per_second / plain.writes_per_second) * 1000) / 1000,
      goal_ratio: 0.97,
    })
    process.stdout.write(
      `API writes at ${rate}/s for ${seconds} s x ${rounds}: plain pg.Pool ${plain.writes_per_second}/s p50 ${plain.p50_ms} ms p99 ${plain.p99_ms} ms; ` +
        `db-ha ${haPool.writes_per_second}/s p50 ${haPool.p50_ms} ms p99 ${haPool.p99_ms} ms; ratio ${results.ratio_writes} (goal >= 0.97); errors ${plain.errors + haPool.errors}\n`,
    )
  } catch (error) {
    log(`failed: ${(error as Error).message}`)
    process.exitCode = 1
  } finally {
    await stopLabCluster(cluster, LAB)
  }
  results.finished_at = new Date().toISOString()
  await fs.mkdir(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `api-${String(results.started_at).replace(/[:.]/g, '-')}.json`)
  await fs.writeFile(file, JSON.stringify(results, null, 2) + '\n')
  process.stdout.write(`written: ${path.relative(process.cwd(), file)}\n`)
}

async function measure(databaseUrl: string, mode: Mode, round: number): Promise<Sample> {
  const env = loadEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' })
  const deps = createDeps(env, pino({ level: 'silent' }))
  let plainPool: pg.Pool | undefined
  let plainPrisma: PrismaClient | undefined
  if (mode === 'plain') {
    // The same app and Prisma, but the orders go through a plain pg.Pool to the primary.
    await deps.pool.query('select 1')
    const primary = deps.pool.settings.hosts.find((h) => `${h.host}:${h.port}` === deps.pool.snapshot().currentHost)
    if (!primary) throw new Error('no primary found')
    const { user, password, dbname } = deps.pool.settings
    plainPool = new pg.Pool({ host: primary.host, port: primary.port, user, password, database: dbname, max: env.DB_POOL_MAX })
    plainPrisma = new PrismaClient({ adapter: new PrismaPg(plainPool) })
    deps.orders = createOrderRepository({ primary: plainPrisma, replica: plainPrisma })
  }
  const server = createApp(deps).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/orders`
  try {
    // Warm-up, not measured.
    await fire(url, `${mode}-${round}-warm`, Math.min(rate, 50), 2)
    const { latencies, errors, elapsedMs } = await fire(url, `${mode}-${round}`, rate, seconds)
    latencies.sort((a, b) => a - b)
    const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 10) / 10
    return {
      mode,
      round,
      sent: latencies.length + errors,
      ok: latencies.length,
      errors,
      writesPerSecond: Math.round((latencies.length / (elapsedMs / 1000)) * 10) / 10,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    }
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await plainPrisma?.$disconnect()
    await plainPool?.end()
    await deps.close()
  }
}

/** Open model: one request every 1/rate s, for `durationS`. */
async function fire(url: string, prefix: string, perSecond: number, durationS: number) {
  const latencies: number[] = []
  let errors = 0
  const total = perSecond * durationS
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    inFlight.push(
      (async () => {
        const t0 = performance.now()
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${prefix}-${i}` },
          body: JSON.stringify({ customerId: `c-${i % 50}`, currency: 'EUR', items: [{ sku: 'bench', quantity: 1, unitPriceCents: 100 }] }),
        }).catch(() => null)
        await res?.arrayBuffer()
        if (res?.status === 201) latencies.push(performance.now() - t0)
        else errors++
      })(),
    )
  }
  await Promise.all(inFlight)
  return { latencies, errors, elapsedMs: performance.now() - started }
}

await main()
