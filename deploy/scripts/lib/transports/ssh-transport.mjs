// Transport "ssh": commands reach a host through the system OpenSSH client, as in Ansible.
// One multiplexed connection per host for the whole script (ControlMaster, socket in a private
// temporary directory, closed when the script exits). Host keys are checked strictly against
// one known_hosts file. Services are systemd units when the host runs systemd, else processes
// started with setsid + nohup and tracked by a pid file (nothing restarts those on a reboot but
// the next `ensureService`, i.e. the next bring-up).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { $ } from 'zx'
import { KitError } from '../../../lib/errors.mjs'
import { shellQuote } from '../../../lib/shell.mjs'
import { REACHABILITY_PROBE, checkLocalFiles, reachabilityProblem } from './ssh-diagnose.mjs'
import { systemdUnit } from './systemd-unit.mjs'

// Where supervisor-less services keep their pid files and logs (root-owned, 0700: a pid file
// the service user could rewrite would let it have root signal any process).
export const PLAIN_SERVICE_DIR = '/var/lib/postgresql/.pgha-services'
// Service management on the host, as root (usage and why: its header).
const SERVICE_SCRIPT = fs.readFileSync(new URL('./service.sh', import.meta.url), 'utf8')
// Idle multiplexed connections linger this long (s) if the script dies without closing them.
const CONTROL_PERSIST_S = 30

/**
 * The command line that runs `argv` on the far side as `user`, with `env` added.
 * env values appear on the remote command line: secrets go through stdin, never here.
 * @param {string[]} argv
 * @param {{user?: string, env?: Record<string, string>}} options
 * @param {string} sshUser the user ssh logs in as
 */
export function remoteCommand(argv, { user, env = {} }, sshUser) {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`)
  const command = [...(envArgs.length > 0 ? ['env', ...envArgs] : []), ...argv].map(shellQuote).join(' ')
  if (!user || user === sshUser) return `cd / && exec ${command}`
  // As root: setpriv (util-linux, always on Debian/Ubuntu) execs in place, so a recorded pid is
  // the service itself; otherwise sudo, non-interactive (-n): it fails rather than prompt.
  if (sshUser === 'root') {
    const u = shellQuote(user)
    return `cd / && exec setpriv --reuid=${u} --regid="$(id -g ${u})" --init-groups --reset-env ${command}`
  }
  return `cd / && exec sudo -n -H -u ${shellQuote(user)} -- ${command}`
}

/** @typedef {import('./transport.mjs').Host} Host */

/**
 * @param {Pick<import('../inventory.mjs').Inventory, 'file' | 'ssh' | 'monitor' | 'nodes'>} inventory
 * @param {{dryRun?: boolean}} [options] dryRun: create no directory for known_hosts
 * @returns {import('./transport.mjs').Transport}
 */
export function createSshTransport(inventory, { dryRun = false } = {}) {
  const { knownHostsFile, acceptNewHostKeys, connectTimeout } = inventory.ssh
  checkLocalFiles(inventory, { dryRun })
  /** @type {string | null} the private directory of the control sockets, once a command ran */
  let controlDir = null

  /** ssh's own options, the same for every command to a host. @param {Host} host @param {string} controlPath */
  function sshArgs(host, controlPath) {
    const { user, port, keyFile } = host.ssh
    return [
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${connectTimeout}`,
      '-o',
      `StrictHostKeyChecking=${acceptNewHostKeys ? 'accept-new' : 'yes'}`,
      '-o',
      `UserKnownHostsFile=${knownHostsFile}`,
      // The inventory's file is the one trust anchor, whatever this machine's /etc/ssh says.
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${controlPath}`,
      '-o',
      `ControlPersist=${CONTROL_PERSIST_S}`,
      // A multiplexed session to a host that vanished would otherwise hang until TCP gives up.
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'ClearAllForwardings=yes',
      '-o',
      'ForwardAgent=no',
      '-o',
      'LogLevel=ERROR',
      ...(keyFile ? ['-o', 'IdentitiesOnly=yes', '-i', keyFile] : []),
      '-p',
      String(port),
      '-l',
      user,
      '-T',
    ]
  }

  /**
   * @param {Host} host @param {string} command the remote command line @param {string} [input] stdin
   * @returns {Promise<{exitCode: number, stdout: string, stderr: string}>}
   */
  async function ssh(host, command, input) {
    // No input: stdin is /dev/null (-n), so ssh never waits on, or eats, this process's stdin.
    const stdin = input === undefined || input === '' ? undefined : input
    if (!controlDir) {
      controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgha-ssh-'))
      process.once('exit', closeSync)
    }
    const argv = ['ssh', ...sshArgs(host, `${controlDir}/%C`), ...(stdin === undefined ? ['-n'] : []), host.address, command]
    const out = await $({ input: stdin, quiet: true, nothrow: true })`${argv}`
    return { exitCode: out.exitCode ?? 255, stdout: out.stdout, stderr: out.stderr }
  }

  /**
   * Runs the service script as root (sudo when ssh logs in as someone else).
   * @param {Host} host @param {'ensure' | 'running' | 'stop' | 'remove'} action
   * @param {{name: string, user?: string, command?: string[]}} spec @param {string} [input] stdin (ensure: the systemd unit)
   * @returns {Promise<string | undefined>} the script's last line of output
   */
  async function service(host, action, spec, input) {
    const argv = [
      'sh',
      '-c',
      SERVICE_SCRIPT,
      'pgha-service',
      action,
      PLAIN_SERVICE_DIR,
      spec.name,
      spec.user ?? 'root',
      ...(spec.command ?? []),
    ]
    const out = await ssh(host, remoteCommand(argv, { user: 'root' }, host.ssh.user), input)
    if (out.exitCode !== 0) {
      throw new Error(
        `service ${spec.name} (${action}) on ${host.host} exited ${out.exitCode}: ${(out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join(' | ')}`,
      )
    }
    return out.stdout.trim().split('\n').at(-1)
  }

  function closeSync() {
    if (!controlDir) return
    for (const socket of fs.readdirSync(controlDir)) {
      spawnSync('ssh', ['-o', `ControlPath=${path.join(controlDir, socket)}`, '-O', 'exit', 'pgha-control'], {
        stdio: 'ignore',
        timeout: 5000,
      })
    }
    fs.rmSync(controlDir, { recursive: true, force: true })
    controlDir = null
  }

  return {
    name: 'ssh',
    /** How a command reaches a host, for --check. */
    describe(host) {
      const ssh = ['ssh', ...sshArgs(host, '<private dir>/%C'), host.address].map(shellQuote).join(' ')
      const asOther = host.ssh.user === 'root' ? 'setpriv --reuid=<user>' : 'sudo -n -u <user>'
      return `${ssh} '<command>'  (another user's command through ${asOther})`
    },
    describeReachability(host) {
      return `ssh ${host.ssh.user}@${host.address}:${host.ssh.port} answers, its host key is in ${knownHostsFile}${acceptNewHostKeys ? ' (or is recorded there on first use)' : ''}, and ${host.ssh.user === 'root' ? 'setpriv is installed' : 'sudo -n works'}`
    },
    describeService(spec) {
      const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`)
      return `systemd unit ${spec.name}.service, or setsid + nohup with a pid file in ${PLAIN_SERVICE_DIR} on a host without systemd; as ${spec.user}: ${[...env, ...spec.argv].map(shellQuote).join(' ')}`
    },
    /** Every host answers over ssh with the configured key and a known host key, and can act as root. */
    async ensureReachable(hosts) {
      const targets = new Map()
      for (const host of hosts) {
        const id = `${host.ssh.user}@${host.address}:${host.ssh.port}`
        targets.set(id, [...(targets.get(id) ?? []), host])
      }
      const problems = await Promise.all(
        [...targets.values()].map(async ([host, ...others]) => {
          const problem = reachabilityProblem(await ssh(host, REACHABILITY_PROBE), host, inventory.ssh)
          const names = [host, ...others].map((h) => h.host).join(', ')
          return problem && `${names} (${host.ssh.user}@${host.address}:${host.ssh.port}): ${problem}`
        }),
      )
      const failed = problems.filter(Boolean)
      if (failed.length > 0) {
        throw new KitError(
          `cannot use ${failed.length === 1 ? 'a host' : `${failed.length} hosts`} over ssh, nothing was changed:\n  ${failed.join('\n  ')}`,
          { code: 'HOST_UNREACHABLE' },
        )
      }
    },
    /** @param {Host} host @param {string[]} argv @param {import('./transport.mjs').RunOptions} [options] */
    async run(host, argv, { user, env, input } = {}) {
      return ssh(host, remoteCommand(argv, { user, env }, host.ssh.user), input)
    },
    async ensureService(host, spec) {
      const envArgs = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`)
      const command = [...(envArgs.length > 0 ? ['env', ...envArgs] : []), ...spec.argv]
      return (await service(host, 'ensure', { ...spec, command }, systemdUnit(spec))) === 'started'
    },
    async serviceRunning(host, name) {
      return (await service(host, 'running', { name })) === 'running'
    },
    async stopService(host, name) {
      return (await service(host, 'stop', { name })) === 'stopped-now'
    },
    async removeService(host, name) {
      await service(host, 'remove', { name })
    },
    /** Closes the multiplexed connections (also done when the process exits). */
    async close() {
      closeSync()
    },
  }
}
