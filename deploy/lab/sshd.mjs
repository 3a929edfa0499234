// sshd inside every VM of a lab, so transport "ssh" can be tested for real: a host key per VM,
// one client key pair and one known_hosts file for the lab, key-only login for root. Everything
// lives under the lab's directory and the VMs' namespaces, so `lab down` removes it all.
import fs from 'node:fs/promises'
import path from 'node:path'
import { $ } from 'zx'
import { registerService, startService } from './services.mjs'
import { vmCommand } from './vm-exec.mjs'
import { ensureDebianPackages } from '../lib/ensure-packages.mjs'
import { acceptsTcp } from '../lib/port-check.mjs'
import { waitFor } from '../lib/wait-for.mjs'

export const SSHD_PACKAGES = ['openssh-server', 'openssh-client']
const SSHD = '/usr/sbin/sshd'

/** @typedef {import('./lab-config.mjs').Lab} Lab */
/** @typedef {import('./lab-config.mjs').LabVm} LabVm */

/** Where a lab keeps its ssh material. @param {Lab} lab */
export function labSshPaths(lab) {
  const dir = path.join(lab.dir, 'ssh')
  return {
    dir,
    privateKey: path.join(dir, 'id_ed25519'),
    knownHosts: path.join(dir, 'known_hosts'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    /** @param {LabVm} vm */
    vm: (vm) => ({
      dir: path.join(vm.root, 'sshd'),
      hostKey: path.join(vm.root, 'sshd', 'ssh_host_ed25519_key'),
      config: path.join(vm.root, 'sshd', 'sshd_config'),
    }),
  }
}

/**
 * Keys, known_hosts and an sshd per VM on <address>:22, run as a lab service (so `restart`
 * brings it back). Keys already there are kept, so known_hosts stays valid.
 * @param {Lab} lab @param {{log?: (line: string) => void}} [options]
 */
export async function startLabSshd(lab, { log = () => {} } = {}) {
  // Only the VMs get an sshd: the package must not start one on this host.
  await ensureDebianPackages(SSHD_PACKAGES, { log, startServices: false })
  // Without PAM, sshd refuses even key logins to an account whose password is locked with "!".
  const rootPassword =
    (await fs.readFile('/etc/shadow', 'utf8'))
      .split('\n')
      .find((line) => line.startsWith('root:'))
      ?.split(':')[1] ?? ''
  if (rootPassword.startsWith('!')) {
    throw new Error(
      'root\'s password is locked with "!" in /etc/shadow, so the VMs\' sshd (no PAM) would refuse root even with a key; "usermod -p \'*\' root" disables password login without locking the account',
    )
  }
  const paths = labSshPaths(lab)
  await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 })
  await keygen(paths.privateKey, `pgha-lab-${lab.name}`)
  // Not /root/.ssh: that is this host's root, shared by every VM.
  await fs.writeFile(paths.authorizedKeys, await fs.readFile(`${paths.privateKey}.pub`), { mode: 0o600 })
  // sshd's privilege-separation directory is in each VM's own /run (lab.mjs makes it, as a boot would).

  const knownHosts = []
  for (const vm of lab.vms) {
    const own = paths.vm(vm)
    await fs.mkdir(own.dir, { recursive: true, mode: 0o700 })
    await keygen(own.hostKey, `${lab.name}-${vm.vm}`)
    const [type, key] = (await fs.readFile(`${own.hostKey}.pub`, 'utf8')).trim().split(/\s+/)
    knownHosts.push(`${vm.address} ${type} ${key}`)
    await fs.writeFile(own.config, sshdConfig(vm, own.hostKey, paths.authorizedKeys), { mode: 0o600 })
    const check = await $({ quiet: true, nothrow: true })`${vmCommand(vm, [SSHD, '-t', '-f', own.config])}`
    if (check.exitCode !== 0) throw new Error(`sshd rejects ${own.config} on ${vm.vm}: ${check.stderr.trim()}`)
    await registerService(vm, {
      name: 'sshd',
      user: 'root',
      argv: [SSHD, '-D', '-e', '-f', own.config],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    })
    await startService(vm, 'sshd')
  }
  await fs.writeFile(paths.knownHosts, knownHosts.join('\n') + '\n', { mode: 0o600 })
  for (const vm of lab.vms) {
    await waitFor(() => acceptsTcp(vm.address, 22), { timeoutMs: 10_000, what: `sshd on ${vm.vm} (${vm.address}:22)` })
  }
  log(`sshd on ${lab.vms.map((vm) => `${vm.address}:22`).join(' ')}; key ${paths.privateKey}, known_hosts ${paths.knownHosts}`)
  return paths
}

/** @param {LabVm} vm @param {string} hostKey its file @param {string} authorizedKeys the file */
function sshdConfig(vm, hostKey, authorizedKeys) {
  return [
    `# Written by deploy/lab for ${vm.vm}: key-only root login on the VM's own address.`,
    `ListenAddress ${vm.address}:22`,
    `HostKey ${hostKey}`,
    'PidFile none',
    `AuthorizedKeysFile ${authorizedKeys}`,
    'AllowUsers root',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // PAM would write the host's loginuid and session records; nothing here needs it.
    'UsePAM no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowAgentForwarding no',
    'PermitTunnel no',
    // The VMs share this host's /root, whose .bashrc (which bash sources for ssh commands) is
    // this host's, not a fresh VM's: SHLVL=1 makes bash skip it (it sources it at level 1 only).
    'SetEnv SHLVL=1',
    // "Accepted publickey for root from ..." in the VM's sshd log: who came in, with which key.
    'LogLevel VERBOSE',
    '',
  ].join('\n')
}

/** An ed25519 key pair at `file` (and `file`.pub), unless there is one. @param {string} file @param {string} comment */
async function keygen(file, comment) {
  if (
    await fs.access(file).then(
      () => true,
      () => false,
    )
  )
    return
  await $({ quiet: true })`ssh-keygen -q -t ed25519 -N ${''} -C ${comment} -f ${file}`
  await fs.chmod(file, 0o600)
}
