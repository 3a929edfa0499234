// Maps resolved settings to node-postgres options for one host of the list.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import type pg from 'pg'
import type { ConnectionSettings, HostSpec } from '../settings/connection-settings.js'
import { passfilePath, passwordFromPassfile } from '../settings/passfile.js'

// Without TCP keepalives a black-holed primary is noticed only when the kernel gives up
// retransmitting, minutes later; with them, in about idle + a few probe intervals.
const DEFAULT_KEEPALIVE_IDLE_SECONDS = 5

export function sslOptions(settings: ConnectionSettings): pg.ClientConfig['ssl'] {
  const read = (file?: string) => (file ? fs.readFileSync(file, 'utf8') : undefined)
  const common = {
    cert: read(settings.sslcert),
    key: read(settings.sslkey),
    passphrase: settings.sslpassword,
    crl: read(settings.sslcrl),
    minVersion: settings.sslMinProtocolVersion,
    maxVersion: settings.sslMaxProtocolVersion,
  }
  switch (settings.sslmode) {
    // node-postgres cannot fall back from TLS to plain text: `allow` and `prefer` connect in plain.
    case 'disable':
    case 'allow':
    case 'prefer':
      return false
    case 'require':
      return { ...common, rejectUnauthorized: false }
    case 'verify-ca':
      return { ...common, rejectUnauthorized: true, ca: read(settings.sslrootcert), checkServerIdentity: () => undefined }
    case 'verify-full':
      return { ...common, rejectUnauthorized: true, ca: read(settings.sslrootcert) }
  }
}

export function clientConfigFor(settings: ConnectionSettings, host: HostSpec, ssl: pg.ClientConfig['ssl']): pg.ClientConfig {
  return {
    // hostaddr, when given, is where we connect; host stays the name (TLS, logs), as in libpq.
    host: host.hostaddr ?? host.host,
    port: host.port,
    database: settings.dbname,
    user: settings.user,
    password: settings.password ?? passfilePassword(settings, host),
    application_name: settings.applicationName,
    options: settings.options,
    // node-postgres checks the certificate against the address it dials unless given a servername:
    // with hostaddr, libpq checks (and sends as SNI) host, the name; so does this.
    ssl: typeof ssl === 'object' && host.hostaddr !== undefined && net.isIP(host.host) === 0 ? { ...ssl, servername: host.host } : ssl,
    enableChannelBinding: settings.channelBinding,
    connectionTimeoutMillis: settings.connectTimeout ? settings.connectTimeout * 1000 : 0,
    keepAlive: settings.keepalives,
    keepAliveInitialDelayMillis: (settings.keepalivesIdle ?? DEFAULT_KEEPALIVE_IDLE_SECONDS) * 1000,
  }
}

/** libpq's: the passfile is read when no password was given, for this host, port, database and user. */
function passfilePassword(settings: ConnectionSettings, host: HostSpec): string | undefined {
  // node-postgres' default user (pg/lib/defaults.js), which the server will see.
  const user = settings.user ?? process.env.USER ?? os.userInfo().username
  return passwordFromPassfile(passfilePath(settings.passfile), { host: host.host, port: host.port, dbname: settings.dbname ?? user, user })
}

export const hostKey = (host: HostSpec) => `${host.hostaddr ?? host.host}:${host.port}`
