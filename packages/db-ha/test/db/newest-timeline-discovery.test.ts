// Two read-write servers at once, on purpose: a server and its standby promoted while it still
// runs (the promoted one on timeline 2). Discovery must take the newest timeline whichever is
// listed first, and a pool that was on the old one must move after an error and lend no pooled
// connection to it any more. A host that accepts TCP but never answers must cost no more than the
// stagger, and a read-write host whose statements time out must not be chosen again while another
// on the same timeline answers. (test/lab/two-primaries does the first two on the lab cluster.)
import net from 'node:net'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPool, type HaPool } from '../../src/pool/index.js'
import { borrowedClients } from '../support/borrowed-clients.js'
import { startLocalPostgres, type LocalPostgres } from '../support/local-postgres.js'

let old: LocalPostgres
let promoted: LocalPostgres
// Independent of the others (timeline 1 too); every commit there waits for a standby that never comes.
let stuck: LocalPostgres
let silent: net.Server
const silentSockets = new Set<net.Socket>()
const pools: HaPool[] = []
const { borrow, giveBack, releaseAll } = borrowedClients()

beforeAll(async () => {
  old = await startLocalPostgres()
  promoted = await startLocalPostgres({ standbyOf: old })
  stuck = await startLocalPostgres({ password: old.password, settings: { synchronous_standby_names: 'nobody' } })
  silent = net.createServer((socket) => {
    silentSockets.add(socket)
    socket.on('close', () => silentSockets.delete(socket))
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
})
afterAll(async () => {
  try {
    releaseAll()
    await Promise.all(pools.map((p) => p.end()))
  } finally {
    for (const socket of silentSockets) socket.destroy()
    silent?.close()
    await Promise.allSettled([promoted, stuck, old].map((server) => server?.stop()))
  }
})

const silentPort = () => (silent.address() as net.AddressInfo).port
function pool(ports: number[], max = 4, queryTimeoutMs?: number) {
  const hosts = ports.map((port) => `127.0.0.1:${port}`).join(',')
  const dsn = `postgresql://postgres:${encodeURIComponent(old.password)}@${hosts}/postgres?target_session_attrs=read-write&connect_timeout=10`
  const p = createPool({ dsn, pool: { max, ...(queryTimeoutMs && { query_timeout: queryTimeoutMs }) } })
  pools.push(p)
  return p
}
async function portOf(queryable: { query: HaPool['query'] }) {
  const { rows } = await queryable.query<{ port: number }>('select inet_server_port() as port')
  return rows[0]?.port
}

describe('newest timeline wins', () => {
  it('an existing pool on the old primary moves to the promoted one after an error, and drains the old one', async () => {
    const p = pool([old.port, promoted.port], 3)
    const held = await borrow(p)
    const idle = await borrow(p)
    expect([await portOf(held), await portOf(idle)]).toEqual([old.port, old.port])
    const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid
    giveBack(idle)

    await promoted.promote()
    // The error: the server ends one of the pool's connections (idle at the time).
    const admin = new pg.Client({ connectionString: old.url() })
    await admin.connect()
    await admin.query('select pg_terminate_backend($1)', [idlePid])
    await admin.end()
    await expect.poll(() => p.snapshot().suspectHosts).toContain(`127.0.0.1:${old.port}`)
    // A connection checked out before the error comes back to the pool, still to a read-write server.
    giveBack(held)

    const started = performance.now()
    expect(await portOf(p)).toBe(promoted.port)
    process.stdout.write(
      `existing pool: first query after the error ${Math.round(performance.now() - started)} ms (rediscovery ${Math.round(p.snapshot().lastRediscoveryMs ?? -1)} ms)\n`,
    )
    for (let i = 0; i < 5; i++) expect(await portOf(p)).toBe(promoted.port)
    expect(p.snapshot()).toMatchObject({ currentHost: `127.0.0.1:${promoted.port}`, failoversObserved: 1 })
    await expect.poll(() => p.snapshot().connectionsPerHost[`127.0.0.1:${old.port}`]).toBe(0)
  })

  it('a fresh pool takes the newest timeline whichever host is listed first', async () => {
    for (const ports of [
      [old.port, promoted.port],
      [promoted.port, old.port],
    ]) {
      const p = pool(ports)
      expect(await portOf(p)).toBe(promoted.port)
      process.stdout.write(`fresh pool, hosts ${ports.join(',')}: discovery ${Math.round(p.snapshot().lastRediscoveryMs ?? -1)} ms\n`)
    }
  })

  it('waits for a host that accepts connections but never answers no longer than the stagger', async () => {
    const p = pool([silentPort(), old.port, promoted.port])
    const started = performance.now()
    expect(await portOf(p)).toBe(promoted.port)
    const elapsed = performance.now() - started
    process.stdout.write(`fresh pool, silent host first: first query ${Math.round(elapsed)} ms\n`)
    // The silent host gets its 250 ms to answer, not its 10 s connect_timeout.
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(5000)
  })
})

describe('a stuck host', () => {
  it('is not chosen again while another read-write host on the same timeline answers', async () => {
    const p = pool([stuck.port, old.port], 4, 500)
    expect(await portOf(p)).toBe(stuck.port)
    // Its commits hang (no standby): the statement times out on the client.
    await expect(p.query('create table t(id int)')).rejects.toThrow('Query read timeout')
    expect(p.snapshot().stuckHosts).toEqual([`127.0.0.1:${stuck.port}`])
    for (let i = 0; i < 5; i++) expect(await portOf(p)).toBe(old.port)
    expect(p.snapshot().currentHost).toBe(`127.0.0.1:${old.port}`)
  })
})
