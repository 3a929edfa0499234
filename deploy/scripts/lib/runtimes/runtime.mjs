// The contract of a runtime (native, docker): how pg_auto_failover runs on a host, through a
// transport. What every runtime shares (pg_autoctl, psql and file work) is pg-autoctl-core.mjs;
// a runtime adds how a node is created, supervised, given its passwords and destroyed.

/**
 * @typedef {import('../transports/transport.mjs').Host} Host
 * @typedef {ReturnType<typeof import('./pg-autoctl-core.mjs').createPgAutoctlCore>} PgAutoctlCore
 */

/**
 * @typedef {object} RuntimeOwn
 * @property {string} name the inventory's `runtime`
 * @property {string} credentialsLabel where a host keeps the cluster's passwords, for --check
 * @property {string} keeperGuardLabel where a data node's keeper guard lives, for --check
 * @property {(host: Host) => string} serviceName the host's service (unit, lab service or container)
 * @property {(host: Host) => Promise<string>} [ensureReady] what the host must have before anything is
 *   written to it (docker: a daemon that answers, the image); throws naming the host and the fix; returns what it found
 * @property {(host: Host) => Promise<void>} createMonitor
 * @property {(host: Host) => Promise<void>} createNode
 * @property {(host: Host, passwords: {monitorPassword: string, replicationPassword: string}) => Promise<boolean>} ensurePassfile whether it changed
 * @property {(host: Host) => Promise<boolean>} removePassfile whether there was one
 * @property {(host: Host) => Promise<boolean>} ensureKeeperGuard whether it changed
 * @property {(host: Host, files: TlsFiles) => Promise<boolean>} ensureTlsFiles ssl: ca: the host's CA, certificate and key; whether one changed
 * @property {(host: Host) => Promise<boolean>} ensureRunning whether it was started now
 * @property {(host: Host) => Promise<boolean>} isRunning
 * @property {(host: Host) => Promise<boolean>} stopService whether it was running
 * @property {(host: Host) => Promise<boolean>} stopNode the keeper and any Postgres left behind; whether something was running
 * @property {(host: Host) => Promise<void>} removeService
 * @property {(host: Host) => Promise<boolean>} destroyData whether there was data
 */

/**
 * A host's TLS files as bring-up writes them: each file's text, and the local file it comes from (for --check).
 * @typedef {{ca: TlsFile, cert: TlsFile, key: TlsFile}} TlsFiles
 * @typedef {{text: string, from: string}} TlsFile
 */

/** @typedef {PgAutoctlCore & RuntimeOwn} Runtime */

/**
 * @typedef {(inventory: import('../inventory.mjs').Inventory, transport: import('../transports/transport.mjs').Transport, secrets: Record<string, string>) => Runtime} RuntimeFactory
 */

export {}
