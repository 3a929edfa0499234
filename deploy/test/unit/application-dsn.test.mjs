// The DSN lists every data node with its own port, VM3's node on 5433 included.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { applicationDsn, quoteKeywordValue } from '../../scripts/lib/dsn.mjs'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { deployDir } from '../support/run-script.mjs'

// Three VMs, VM3 = monitor + node3, on 10.0.0.0/24 (the DSN the README shows).
const threeVms = path.join(deployDir, 'test/fixtures/three-vms.yml')

describe('application DSN', () => {
  it('includes all three nodes of a three-VM inventory with per-host ports, and no TLS attempt without TLS', async () => {
    const inventory = await loadInventory(threeVms)
    const dsn = applicationDsn(inventory)
    expect(dsn.keyword).toBe(
      'host=10.0.0.11,10.0.0.12,10.0.0.13 port=5432,5432,5433 dbname=app user=app target_session_attrs=read-write connect_timeout=3 sslmode=disable',
    )
    expect(dsn.uri).toBe(
      'postgresql://app@10.0.0.11:5432,10.0.0.12:5432,10.0.0.13:5433/app?target_session_attrs=read-write&connect_timeout=3&sslmode=disable',
    )
  })

  it('carries the password only when asked, escaped for each form', async () => {
    const inventory = await loadInventory(threeVms)
    expect(applicationDsn(inventory).keyword).not.toContain('password')
    const dsn = applicationDsn(inventory, { password: "a b'c\\d/e" })
    expect(dsn.keyword).toContain("password='a b\\'c\\\\d/e'")
    expect(dsn.uri).toContain(`app:${encodeURIComponent("a b'c\\d/e")}@`)
  })

  it('requires TLS in both forms when the cluster uses self-signed certificates', async () => {
    const inventory = { ...(await loadInventory(threeVms)), ssl: 'self-signed' }
    const dsn = applicationDsn(inventory)
    expect(dsn.keyword).toMatch(/ sslmode=require$/)
    expect(dsn.uri).toMatch(/&sslmode=require$/)
  })

  it('verifies the servers against the cluster CA on this machine with ssl: ca', async () => {
    const loaded = await loadInventory(threeVms)
    const caCertFile = '/home/ops/my cluster/three-vms.pki/ca.crt'
    const dsn = applicationDsn({ ...loaded, ssl: 'ca', tls: { ...loaded.tls, caCertFile } })
    expect(dsn.keyword).toMatch(/ sslmode=verify-full sslrootcert='\/home\/ops\/my cluster\/three-vms\.pki\/ca\.crt'$/)
    expect(dsn.uri).toMatch(/&sslmode=verify-full&sslrootcert=\/home\/ops\/my%20cluster\/three-vms\.pki\/ca\.crt$/)
    // By default the CA bring-up generates, beside the inventory.
    expect(applicationDsn({ ...loaded, ssl: 'ca' }).keyword).toContain(
      `sslrootcert=${path.join(deployDir, 'test/fixtures/three-vms.pki/ca.crt')}`,
    )
  })

  it('quotes keyword values the way libpq reads them', () => {
    expect(quoteKeywordValue('plain')).toBe('plain')
    expect(quoteKeywordValue('')).toBe("''")
    expect(quoteKeywordValue("it's")).toBe("'it\\'s'")
  })
})
