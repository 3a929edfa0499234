// Clients checked out of a pool and not yet given back: a test's afterAll releases them if the
// test failed first (pool.end() waits for every client).
import type pg from 'pg'

export function borrowedClients() {
  const checkedOut = new Set<pg.PoolClient>()
  return {
    async borrow(from: pg.Pool) {
      const client = await from.connect()
      checkedOut.add(client)
      return client
    },
    giveBack(client: pg.PoolClient) {
      checkedOut.delete(client)
      client.release()
    },
    /** Destroys every client still out (their connections are not reused). */
    releaseAll() {
      for (const client of checkedOut) client.release(true)
      checkedOut.clear()
    },
  }
}
