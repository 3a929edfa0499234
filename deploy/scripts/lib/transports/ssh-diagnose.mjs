// What is wrong with ssh to a host, in the operator's terms: local files checked before any
// connection (bad input, exit 2), and a failed first connection explained from ssh's stderr.
import fs from 'node:fs'
import path from 'node:path'
import { InputError } from '../../../lib/errors.mjs'

/**
 * Run on each host by ensureReachable: prints pgha-ok when the login can act as root (as root
 * with setpriv to switch users, else with passwordless sudo).
 */
export const REACHABILITY_PROBE =
  'if [ "$(id -u)" = 0 ]; then command -v setpriv >/dev/null && echo pgha-ok || echo pgha-no-setpriv; elif sudo -n true 2>/dev/null; then echo pgha-ok; else echo pgha-no-sudo; fi'

/**
 * A missing or group-readable key, or a missing known_hosts file, is bad input: exit 2.
 * @param {Pick<import('../inventory.mjs').Inventory, 'file' | 'ssh' | 'monitor' | 'nodes'>} inventory
 * @param {{dryRun: boolean}} options dryRun: create no directory for known_hosts
 */
export function checkLocalFiles(inventory, { dryRun }) {
  const { knownHostsFile, acceptNewHostKeys } = inventory.ssh
  for (const host of [inventory.monitor, ...inventory.nodes]) {
    const keyFile = host.ssh.keyFile
    if (!keyFile) continue
    const where = { file: inventory.file, key: `${host.key}.ansible_ssh_private_key_file` }
    let stat
    try {
      stat = fs.statSync(keyFile)
    } catch {
      throw new InputError(`private key ${keyFile} not found`, where)
    }
    if (!stat.isFile()) throw new InputError(`private key ${keyFile} is not a file`, where)
    if ((stat.mode & 0o077) !== 0)
      throw new InputError(`private key ${keyFile} is readable by others, which ssh refuses: chmod 600 it`, where)
  }
  if (fs.existsSync(knownHostsFile)) return
  if (!acceptNewHostKeys) {
    throw new InputError(
      `known_hosts file ${knownHostsFile} not found: add the hosts' keys to it (after checking their fingerprints), or set ssh_accept_new_host_keys: true to trust them on first use`,
      { file: inventory.file, key: 'all.vars.ssh_known_hosts_file' },
    )
  }
  if (!dryRun) fs.mkdirSync(path.dirname(knownHostsFile), { recursive: true, mode: 0o700 })
}

/**
 * Why a host cannot be used, from REACHABILITY_PROBE's result; null when it can.
 * @param {import('./transport.mjs').CommandResult} out
 * @param {{address: string, ssh: {port: number, user: string, keyFile?: string}}} host
 * @param {{knownHostsFile: string}} ssh the inventory's ssh settings
 */
export function reachabilityProblem(out, host, ssh) {
  if (out.exitCode === 0 && out.stdout.includes('pgha-ok')) return null
  if (out.stdout.includes('pgha-no-sudo'))
    return `logged in, but "sudo -n" fails for ${host.ssh.user}; allow it passwordless sudo, or log in as root (ansible_user)`
  if (out.stdout.includes('pgha-no-setpriv')) return 'setpriv (util-linux) is missing; install util-linux'
  return explainSshFailure(out, host, ssh)
}

/**
 * What went wrong, in the operator's terms, from ssh's exit code and stderr.
 * @param {import('./transport.mjs').CommandResult} out
 * @param {{address: string, ssh: {port: number, user: string, keyFile?: string}}} host
 * @param {{knownHostsFile: string}} ssh
 */
function explainSshFailure(out, host, { knownHostsFile }) {
  const said = out.stderr.trim().split('\n').filter(Boolean)
  const reason = said.at(-1) ?? `exit ${out.exitCode}`
  const text = out.stderr
  const {
    address,
    ssh: { port, user, keyFile },
  } = host
  const known = port === 22 ? address : `[${address}]:${port}`
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(text)) {
    return (
      `its host key DIFFERS from the one in ${knownHostsFile}: someone may be intercepting the connection, or the host was reinstalled. ` +
      `Check the new key out of band, then replace the old entry (ssh-keygen -R '${known}' -f ${knownHostsFile})`
    )
  }
  if (/Host key verification failed|host key is known for|No .* host key is known/i.test(text)) {
    return (
      `its host key is unknown: ${knownHostsFile} has no entry for ${known} and unknown hosts are refused. ` +
      `Add its key after comparing the fingerprint with the host's own (ssh-keyscan -p ${port} ${address}; on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ` +
      'or set ssh_accept_new_host_keys: true to trust it on first use'
    )
  }
  if (/Permission denied|Too many authentication failures/i.test(text)) {
    return (
      `the host refused ${keyFile ? `the key ${keyFile}` : "this machine's default ssh keys"} for ${user} (${reason}). ` +
      `Authorize its public key for ${user} on the host (~${user}/.ssh/authorized_keys), or set ansible_ssh_private_key_file / ansible_user`
    )
  }
  if (
    /timed out|No route to host|Connection refused|Network is unreachable|Could not resolve|Connection closed|Connection reset|kex_exchange_identification/i.test(
      text,
    )
  ) {
    return `unreachable (${reason}): check that the host is up, that ansible_host/ansible_port are right, and that sshd listens on port ${port} and no firewall blocks it`
  }
  return `ssh failed (exit ${out.exitCode}): ${reason}`
}
