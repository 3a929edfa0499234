// The monitor URI a keeper connects with: no password (the passfile has it), TLS as the inventory
// says, and the failover profile's TCP timeouts, which the fencing condition relies on
// (pg_auto_failover 2.0 sets no keepalives of its own; libpq reads them from the URI).
import { monitorUriParams } from './failover-profiles.mjs'

/** @param {{monitor: {address: string, port: number}, ssl: string, failover: any}} inventory */
export function monitorUri(inventory) {
  const m = inventory.monitor
  return `postgres://autoctl_node@${m.address}:${m.port}/pg_auto_failover?sslmode=${inventory.ssl === 'off' ? 'prefer' : 'require'}&${monitorUriParams(inventory.failover)}`
}
