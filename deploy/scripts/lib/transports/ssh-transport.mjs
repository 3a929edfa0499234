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
import { InputError } from '../../../lib/errors.mjs'
import { shellQuote } from '../../../lib/shell.mjs'

// Where supervisor-less services keep their pid files and logs (root-owned, 0700: a pid file
// the service user could rewrite would let it have root signal any process).
export const PLAIN_SERVICE_DIR = '/var/lib/postgresql/.pgha-services'
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

/**
 * systemd's quoting for a word of a unit setting: no specifier (%) expansion, and in ExecStart=
 * no variable ($) expansion either.
 */
function unitQuote(word, { dollars = false } = {}) {
  const escaped = word.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%')
  return `"${dollars ? escaped.replaceAll('$', '$$$$') : escaped}"`
}

/**
 * A unit like the one `pg_autoctl show systemd` prints, for any service spec.
 * @param {{name: string, user: string, argv: string[], env?: Record<string, string>}} spec
 */
export function systemdUnit(spec) {
  for (const word of [...spec.argv, ...Object.entries(spec.env ?? {}).flat()]) {
    if (/[\n\r\0]/.test(word)) throw new Error(`service ${spec.name}: a line break cannot go into a systemd unit`)
  }
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `Environment=${unitQuote(`${k}=${v}`)}`)
  return [
    '# Written by pg-ha-kit (transport ssh), like `pg_autoctl show systemd` prints it.',
    '[Unit]',
    `Description=${spec.name} (pg-ha-kit)`,
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `User=${spec.user}`,
    'WorkingDirectory=~',
    ...env,
    // env resolves the program on the unit's PATH, as the lab and the plain services do.
    `ExecStart=/usr/bin/env ${spec.argv.map((word) => unitQuote(word, { dollars: true })).join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=always',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n')
}

// Service management on the host, as root. $1 action, $2 name, $3 user, then the command.
// systemd when it runs there; else setsid + nohup, the pid file holding "pid starttime" so a
// recycled pid is never mistaken for the service.
const SERVICE_SCRIPT = String.raw`
set -u
action=$1 name=$2 user=$3
shift 3
dir=${PLAIN_SERVICE_DIR}
pidfile=$dir/$name.pid
unit=/etc/systemd/system/$name.service
running() {
  [ -r "$pidfile" ] || return 1
  read -r pid start < "$pidfile" || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  set -- $(echo "$stat" | sed 's/.*) //')
  [ "$1" != Z ] || return 1
  shift 19
  [ "$1" = "$start" ]
}
stop_plain() {
  running || return 1
  kill -s TERM "$pid" 2>/dev/null
  i=0
  while running && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
  # Still there after 30 s: kill its whole session (setsid made the service its leader).
  if running; then kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid"; fi
  # Until init reaps it, a zombie keeps its pid, and a keeper started again at once would take
  # its own old pid file for a live one.
  i=0
  while [ -e "/proc/$pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  return 0
}
if [ -d /run/systemd/system ]; then
  case $action in
    ensure)
      tmp=$(mktemp "$unit.XXXXXX") && cat > "$tmp" && chmod 644 "$tmp" || exit 1
      changed=0
      if cmp -s "$tmp" "$unit"; then rm -f "$tmp"; else mv "$tmp" "$unit" && systemctl daemon-reload && changed=1 || exit 1; fi
      systemctl enable --quiet "$name.service" || exit 1
      if systemctl is-active --quiet "$name.service"; then
        [ $changed = 1 ] || { echo running; exit 0; }
        systemctl restart "$name.service" && echo started
      else
        systemctl start "$name.service" && echo started
      fi ;;
    running) systemctl is-active --quiet "$name.service" && echo running || echo stopped ;;
    stop) if systemctl is-active --quiet "$name.service"; then systemctl stop "$name.service" && echo stopped-now; else echo stopped; fi ;;
    remove)
      systemctl stop "$name.service" 2>/dev/null
      systemctl disable --quiet "$name.service" 2>/dev/null
      rm -f "$unit" && systemctl daemon-reload ;;
  esac
  exit
fi
umask 077
case $action in
  ensure)
    cat > /dev/null
    mkdir -p "$dir" && chown root:root "$dir" && chmod 700 "$dir" || exit 1
    if running; then echo running; exit 0; fi
    rm -f "$pidfile"
    if [ "$user" != root ]; then set -- setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env "$@"; fi
    cd /
    # The child records its own pid and start time, then becomes the service (exec all the way).
    setsid sh -c 'echo "$$ $(cut -d" " -f22 /proc/$$/stat)" > "$1.new" && mv "$1.new" "$1"; umask 022; shift; exec nohup "$@"' \
      pgha-service "$pidfile" "$@" < /dev/null >> "$dir/$name.log" 2>&1 &
    i=0
    while [ ! -s "$pidfile" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$pidfile" ] || { echo "$name did not start, see $dir/$name.log" >&2; exit 1; }
    echo started ;;
  running) running && echo running || echo stopped ;;
  stop) stop_plain && echo stopped-now || echo stopped ;;
  remove) stop_plain; rm -f "$pidfile" ;;
esac
`

/**
 * @param {{file: string, ssh: {knownHostsFile: string, acceptNewHostKeys: boolean, connectTimeout: number},
 *   monitor: any, nodes: any[]}} inventory
 * @param {{dryRun?: boolean}} [options] dryRun: create no directory for known_hosts
 * @returns {import('./transport.mjs').Transport}
 */
export function createSshTransport(inventory, { dryRun = false } = {}) {
  const { knownHostsFile, acceptNewHostKeys, connectTimeout } = inventory.ssh
  checkLocalFiles(inventory, { dryRun })
  let controlDir = null

  /** ssh's own options, the same for every command to a host. */
  function sshArgs(host, controlPath) {
    const { user, port, keyFile } = host.ssh
    return [
      '-o', 'BatchMode=yes',
      '-o', `ConnectTimeout=${connectTimeout}`,
      '-o', `StrictHostKeyChecking=${acceptNewHostKeys ? 'accept-new' : 'yes'}`,
      '-o', `UserKnownHostsFile=${knownHostsFile}`,
      // The inventory's file is the one trust anchor, whatever this machine's /etc/ssh says.
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${controlPath}`,
      '-o', `ControlPersist=${CONTROL_PERSIST_S}`,
      // A multiplexed session to a host that vanished would otherwise hang until TCP gives up.
      '-o', 'ServerAliveInterval=5',
      '-o', 'ServerAliveCountMax=3',
      '-o', 'ClearAllForwardings=yes',
      '-o', 'ForwardAgent=no',
      '-o', 'LogLevel=ERROR',
      ...(keyFile ? ['-o', 'IdentitiesOnly=yes', '-i', keyFile] : []),
      '-p', String(port),
      '-l', user,
      '-T',
    ]
  }

  /** @returns {Promise<{exitCode: number, stdout: string, stderr: string}>} */
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

  /** Runs the service script as root (sudo when ssh logs in as someone else). */
  async function service(host, action, spec, input) {
    const argv = ['sh', '-c', SERVICE_SCRIPT, 'pgha-service', action, spec.name, spec.user ?? 'root', ...(spec.command ?? [])]
    const out = await ssh(host, remoteCommand(argv, { user: 'root' }, host.ssh.user), input)
    if (out.exitCode !== 0) {
      throw new Error(`service ${spec.name} (${action}) on ${host.host} exited ${out.exitCode}: ${(out.stderr.trim() || out.stdout.trim()).split('\n').slice(-3).join(' | ')}`)
    }
    return out.stdout.trim().split('\n').at(-1)
  }

  function closeSync() {
    if (!controlDir) return
    for (const socket of fs.readdirSync(controlDir)) {
      spawnSync('ssh', ['-o', `ControlPath=${path.join(controlDir, socket)}`, '-O', 'exit', 'pgha-control'], { stdio: 'ignore', timeout: 5000 })
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
      const problems = await Promise.all([...targets.values()].map(async ([host, ...others]) => {
        const probe = 'if [ "$(id -u)" = 0 ]; then command -v setpriv >/dev/null && echo pgha-ok || echo pgha-no-setpriv; elif sudo -n true 2>/dev/null; then echo pgha-ok; else echo pgha-no-sudo; fi'
        const out = await ssh(host, probe)
        const names = [host, ...others].map((h) => h.host).join(', ')
        const where = `${names} (${host.ssh.user}@${host.address}:${host.ssh.port})`
        if (out.exitCode === 0 && out.stdout.includes('pgha-ok')) return null
        if (out.stdout.includes('pgha-no-sudo')) return `${where}: logged in, but "sudo -n" fails for ${host.ssh.user}; allow it passwordless sudo, or log in as root (ansible_user)`
        if (out.stdout.includes('pgha-no-setpriv')) return `${where}: setpriv (util-linux) is missing; install util-linux`
        return `${where}: ${explainSshFailure(out, host, inventory.ssh)}`
      }))
      const failed = problems.filter(Boolean)
      if (failed.length > 0) {
        const error = new Error(`cannot use ${failed.length === 1 ? 'a host' : `${failed.length} hosts`} over ssh, nothing was changed:\n  ${failed.join('\n  ')}`)
        error.code = 'HOST_UNREACHABLE'
        throw error
      }
    },
    /**
     * @param {{host: string, address: string, ssh: {user: string, port: number, keyFile?: string}}} host @param {string[]} argv
     * @param {{user?: string, env?: Record<string, string>, input?: string}} [options]
     */
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

/** A missing or group-readable key, or a missing known_hosts file, is bad input: exit 2. */
function checkLocalFiles(inventory, { dryRun }) {
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
    if ((stat.mode & 0o077) !== 0) throw new InputError(`private key ${keyFile} is readable by others, which ssh refuses: chmod 600 it`, where)
  }
  if (fs.existsSync(knownHostsFile)) return
  if (!acceptNewHostKeys) {
    throw new InputError(`known_hosts file ${knownHostsFile} not found: add the hosts' keys to it (after checking their fingerprints), or set ssh_accept_new_host_keys: true to trust them on first use`,
      { file: inventory.file, key: 'all.vars.ssh_known_hosts_file' })
  }
  if (!dryRun) fs.mkdirSync(path.dirname(knownHostsFile), { recursive: true, mode: 0o700 })
}

/** What went wrong, in the operator's terms, from ssh's exit code and stderr. */
function explainSshFailure(out, host, { knownHostsFile }) {
  const said = out.stderr.trim().split('\n').filter(Boolean)
  const reason = said.at(-1) ?? `exit ${out.exitCode}`
  const text = out.stderr
  const { address, ssh: { port, user, keyFile } } = host
  const known = port === 22 ? address : `[${address}]:${port}`
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(text)) {
    return `its host key DIFFERS from the one in ${knownHostsFile}: someone may be intercepting the connection, or the host was reinstalled. ` +
      `Check the new key out of band, then replace the old entry (ssh-keygen -R '${known}' -f ${knownHostsFile})`
  }
  if (/Host key verification failed|host key is known for|No .* host key is known/i.test(text)) {
    return `its host key is unknown: ${knownHostsFile} has no entry for ${known} and unknown hosts are refused. ` +
      `Add its key after comparing the fingerprint with the host's own (ssh-keyscan -p ${port} ${address}; on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ` +
      'or set ssh_accept_new_host_keys: true to trust it on first use'
  }
  if (/Permission denied|Too many authentication failures/i.test(text)) {
    return `the host refused ${keyFile ? `the key ${keyFile}` : "this machine's default ssh keys"} for ${user} (${reason}). ` +
      `Authorize its public key for ${user} on the host (~${user}/.ssh/authorized_keys), or set ansible_ssh_private_key_file / ansible_user`
  }
  if (/timed out|No route to host|Connection refused|Network is unreachable|Could not resolve|Connection closed|Connection reset|kex_exchange_identification/i.test(text)) {
    return `unreachable (${reason}): check that the host is up, that ansible_host/ansible_port are right, and that sshd listens on port ${port} and no firewall blocks it`
  }
  return `ssh failed (exit ${out.exitCode}): ${reason}`
}
