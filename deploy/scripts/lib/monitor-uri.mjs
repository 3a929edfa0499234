// The monitor URI a keeper connects with: no password (the passfile has it), TLS as the inventory
// says, and the failover profile's TCP timeouts, which the fencing condition relies on
// (pg_auto_failover 2.0 sets no keepalives of its own; libpq reads them from the URI).
// With ssl: ca the keeper checks the monitor's certificate against the cluster's CA on its host.
import { monitorUriParams } from './failover-profiles.mjs'
import { tlsFilesFor } from './pki.mjs'

/** @param {{monitor: {address: string, port: number}, ssl: string, runtime?: string, failover: any}} inventory */
export function monitorUri(inventory) {
  const m = inventory.monitor
  const tls = {
    off: 'sslmode=prefer',
    'self-signed': 'sslmode=require',
    ca: `sslmode=verify-full&sslrootcert=${tlsFilesFor(inventory.runtime ?? 'native').ca}`,
  }[inventory.ssl]
  if (tls === undefined) throw new Error(`ssl "${inventory.ssl}" has no monitor URI`)
  return `postgres://autoctl_node@${m.address}:${m.port}/pg_auto_failover?${tls}&${monitorUriParams(inventory.failover)}`
}
