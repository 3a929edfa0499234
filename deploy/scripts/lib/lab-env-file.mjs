// The env file lab-up leaves behind (bring-up's DATABASE_URL, 0600): lab-down removes it with the
// lab, but only when it is the lab's. Deciding that is here, apart from any file system.

import { BRINGUP_ENV_KEYS } from './env-file.mjs'

/** The lines bring-up writes (env-file.mjs): comments and BRINGUP_ENV_KEYS. */
const BRINGUP_KEYS = new Set(BRINGUP_ENV_KEYS)

/**
 * Whether an env file is the one bring-up wrote for a lab: nothing in it but what bring-up
 * writes, and every host of its DATABASE_URL inside the lab's subnet. Anything else (another
 * cluster's DSN, a line the user added) keeps the file.
 * @param {string} text the file's content
 * @param {{subnet: string}} lab the lab's subnet, a.b.c.d/n
 * @returns {{remove: boolean, reason: string}}
 */
export function labEnvFileVerdict(text, { subnet }) {
  /** @type {Map<string, string>} */
  const values = new Map()
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed)
    // Both groups take part in every match.
    const [, key = '', value = ''] = match ?? []
    if (!match || !BRINGUP_KEYS.has(key)) return { remove: false, reason: `it holds more than bring-up writes (${trimmed.split('=')[0]})` }
    values.set(key, value.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1'))
  }
  const url = values.get('DATABASE_URL')
  if (!url) return { remove: false, reason: 'it has no DATABASE_URL' }
  const hosts = dsnHosts(url)
  if (hosts.length === 0) return { remove: false, reason: 'its DATABASE_URL names no host' }
  const outside = hosts.find((host) => !ipv4InCidr(host, subnet))
  if (outside !== undefined) return { remove: false, reason: `its DATABASE_URL host ${outside} is not in the lab's subnet ${subnet}` }
  return { remove: true, reason: `its DATABASE_URL points at the lab (${hosts.join(', ')} in ${subnet})` }
}

/** The hosts of a libpq URI, multi-host included: postgresql://user:pw@h1:p1,h2:p2/db?... @param {string} url @returns {string[]} */
function dsnHosts(url) {
  const match = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?([^/?]*)/.exec(url)
  if (!match) return []
  return (match[1] ?? '')
    .split(',')
    .filter(Boolean)
    .map((hostPort) => hostPort.replace(/:\d*$/, ''))
}

/** @param {string} address @param {string} cidr a.b.c.d/n */
function ipv4InCidr(address, cidr) {
  /** @param {string} ip @returns {number | null} */
  const toInt = (ip) => {
    const parts = ip.split('.')
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null
    return parts.reduce((acc, p) => acc * 256 + Number(p), 0)
  }
  const [network = '', bits] = cidr.split('/')
  const ip = toInt(address)
  const net = toInt(network)
  if (ip === null || net === null) return false
  const size = 2 ** (32 - Number(bits))
  return Math.floor(ip / size) === Math.floor(net / size)
}
