// The application DSN: every data node with its own port, so that whichever node is
// primary, `target_session_attrs=read-write` finds it (libpq tries the hosts in order).

/**
 * @param {{nodes: {address: string, port: number}[], dbname: string, appUser: string, connectTimeout: number, ssl?: string, tls?: {caCertFile: string}}} inventory
 * @param {{password?: string}} [options] the password is included only when given
 */
export function applicationDsn(inventory, { password } = {}) {
  // Self-signed certificates encrypt but cannot be verified: require TLS, not a CA check. With the
  // cluster's CA (ssl: ca) verify-full: the server's certificate must be signed by that CA and name
  // the address connected to; sslrootcert is the CA on this machine (elsewhere, copy it and point
  // sslrootcert at the copy). Without TLS, say so: libpq's and pgx's default (prefer) would ask
  // every node for TLS first.
  const sslmode = inventory.ssl === 'self-signed' ? 'require' : inventory.ssl === 'ca' ? 'verify-full' : 'disable'
  const rootCert = inventory.ssl === 'ca' ? inventory.tls?.caCertFile : undefined
  if (inventory.ssl === 'ca' && rootCert === undefined) throw new Error('ssl: ca without the CA certificate file')
  const hosts = inventory.nodes.map((n) => n.address)
  const ports = inventory.nodes.map((n) => n.port)
  const keywordParts = [
    `host=${hosts.join(',')}`,
    `port=${ports.join(',')}`,
    `dbname=${inventory.dbname}`,
    `user=${inventory.appUser}`,
    ...(password ? [`password=${quoteKeywordValue(password)}`] : []),
    'target_session_attrs=read-write',
    `connect_timeout=${inventory.connectTimeout}`,
    `sslmode=${sslmode}`,
    ...(rootCert === undefined ? [] : [`sslrootcert=${quoteKeywordValue(rootCert)}`]),
  ]
  const auth = encodeURIComponent(inventory.appUser) + (password ? `:${encodeURIComponent(password)}` : '')
  const hostList = inventory.nodes.map((n) => `${n.address}:${n.port}`).join(',')
  return {
    keyword: keywordParts.join(' '),
    uri: `postgresql://${auth}@${hostList}/${encodeURIComponent(inventory.dbname)}?target_session_attrs=read-write&connect_timeout=${inventory.connectTimeout}&sslmode=${sslmode}${rootCert === undefined ? '' : `&sslrootcert=${encodeURIComponent(rootCert).replaceAll('%2F', '/')}`}`,
  }
}

/** libpq keyword/value quoting: single quotes, with \ and ' backslash-escaped. @param {string} value */
export function quoteKeywordValue(value) {
  return /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/[\\']/g, (/** @type {string} */ c) => `\\${c}`)}'`
}
