// Direct probes of who takes writes: one writer per data node, straight to that node (never
// through the DSN), a write every intervalMs with synchronous_commit=local so an isolated
// primary's answer does not hang on its cut-off standbys. Every success is timed on this host's
// clock, which every lab VM shares, so "old primary's last write" and "new primary's first
// write" compare directly: their difference is the overlap of two read-write primaries.
import pg from 'pg'
import { nodePort, parseDatabaseUrl } from './lab-cluster.mjs'

export const PROBE_TABLE = 'fencing_probe'

/**
 * @param {{databaseUrl: string, addresses: string[], intervalMs?: number}} options
 * @returns {Promise<{stop: () => Promise<Map<string, number[]>>}>} stop: every node's success times (ms since epoch)
 */
export async function startWriteProbes({ databaseUrl, addresses, intervalMs = 100 }) {
  const { user, password, dbname } = parseDatabaseUrl(databaseUrl)
  await createTable({ databaseUrl, addresses, user, password, dbname })

  const successes = new Map(addresses.map((address) => [address, /** @type {number[]} */ ([])]))
  let running = true
  const loops = addresses.map(async (address) => {
    /** @type {pg.Client | null} */
    let client = null
    while (running) {
      const started = Date.now()
      try {
        if (!client) {
          client = new pg.Client({
            host: address,
            port: nodePort(databaseUrl, address),
            user,
            password,
            database: dbname,
            connectionTimeoutMillis: 1000,
            query_timeout: 1000,
            application_name: 'fencing-probe',
          })
          client.on('error', () => {})
          await client.connect()
          await client.query('set synchronous_commit = local')
        }
        await client.query(`insert into ${PROBE_TABLE}(node) values ($1)`, [address])
        successes.get(address)?.push(Date.now())
      } catch {
        const broken = client
        client = null
        await broken?.end().catch(() => {})
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - started))))
    }
    await client?.end().catch(() => {})
  })
  return {
    async stop() {
      running = false
      await Promise.all(loops)
      return successes
    },
  }
}

/**
 * On the node that is primary now, so standbys have the table before any cut.
 * @param {{databaseUrl: string, addresses: string[], user: string, password: string, dbname: string}} options
 */
async function createTable({ databaseUrl, addresses, user, password, dbname }) {
  for (const address of addresses) {
    const client = new pg.Client({
      host: address,
      port: nodePort(databaseUrl, address),
      user,
      password,
      database: dbname,
      connectionTimeoutMillis: 3000,
    })
    try {
      await client.connect()
      const { rows } = await client.query('select pg_is_in_recovery() as standby')
      if (rows[0]?.standby) continue
      await client.query(`create table if not exists ${PROBE_TABLE}(node text not null, at timestamptz not null default clock_timestamp())`)
      return
    } finally {
      await client.end().catch(() => {})
    }
  }
  throw new Error(`no primary among ${addresses.join(', ')} to create ${PROBE_TABLE} on`)
}

/**
 * The overlap, from the probes: the old primary's last accepted write minus the first write any
 * other node accepted after the cut (positive: two primaries took writes at once).
 * @param {Map<string, number[]>} successes @param {{oldPrimary: string, cutAt: number}} at
 */
export function overlapFrom(successes, { oldPrimary, cutAt }) {
  const oldLast = Math.max(...(successes.get(oldPrimary) ?? []).filter((t) => t >= cutAt), cutAt)
  const othersFirst = Math.min(
    ...[...successes].filter(([address]) => address !== oldPrimary).flatMap(([, times]) => times.filter((t) => t >= cutAt)),
  )
  return { oldLastMs: oldLast - cutAt, newFirstMs: othersFirst - cutAt, overlapMs: oldLast - othersFirst }
}
