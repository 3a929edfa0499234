// Maps resolved settings to node-postgres options for one host of the list.
import fs from 'node:fs'
import type pg from 'pg'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'

// Without TCP keepalives a black-holed primary is noticed only when the kernel gives up
// retransmitting, minutes later; with them, in about idle + a few probe intervals.
const DEFAULT_KEEPALIVE_IDLE_SECONDS = 5

export function sslOptions(settings: ConnectionSettings): pg.ClientConfig['ssl'] {
  const read = (file?: string) => (file ? fs.readFileSync(file, 'utf8') : undefined)
  switch (settings.sslmode) {
    // node-postgres cannot fall back from TLS to plain text: `allow` and `prefer` connect in plain.
    case 'disable':
    case 'allow':
    case 'prefer':
      return false
    case 'require':
      return { rejectUnauthorized: false, cert: read(settings.sslcert), key: read(settings.sslkey) }
    case 'verify-ca':
      return {
        rejectUnauthorized: true, ca: read(settings.sslrootcert), cert: read(settings.sslcert), key: read(settings.sslkey),
        checkServerIdentity: () => undefined,
      }
    case 'verify-full':
      return { rejectUnauthorized: true, ca: read(settings.sslrootcert), cert: read(settings.sslcert), key: read(settings.sslkey) }
  }
}

export function clientConfigFor(settings: ConnectionSettings, host: HostSpec, ssl: pg.ClientConfig['ssl']): pg.ClientConfig {
  return {
    // hostaddr, when given, is where we connect; host stays the name (TLS, logs), as in libpq.
    host: host.hostaddr ?? host.host,
    port: host.port,
    database: settings.dbname,
    user: settings.user,
    password: settings.password,
    application_name: settings.applicationName,
    options: settings.options,
    ssl,
    connectionTimeoutMillis: settings.connectTimeout ? settings.connectTimeout * 1000 : 0,
    keepAlive: settings.keepalives,
    keepAliveInitialDelayMillis: (settings.keepalivesIdle ?? DEFAULT_KEEPALIVE_IDLE_SECONDS) * 1000,
  }
}

export const hostKey = (host: HostSpec) => `${host.hostaddr ?? host.host}:${host.port}`
