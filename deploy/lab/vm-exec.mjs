// How a command runs "on" a lab VM: inside its network namespace, with the VM's private
// directories bind-mounted over the shared host paths, optionally as another user.
import { shellQuote as quote } from '../lib/shell.mjs'

/**
 * @param {{netns: string, mounts: Record<string, string>}} vm
 * @param {string[]} argv
 * @param {{user?: string, env?: Record<string, string>}} [options]
 * @returns {[string, ...string[]]} the program, then its arguments
 */
export function vmCommand(vm, argv, { user, env = {} } = {}) {
  const binds = Object.entries(vm.mounts).map(([target, source]) => `mount --bind ${quote(source)} ${quote(target)}`)
  // `ip netns exec` mounts a fresh /sys for the namespace, without the cgroup file systems a
  // VM's dockerd needs: mount them again as the host has them. Where one cannot be, dockerd says so.
  const cgroups =
    'while read -r _ point type opts _; do case "$point:$type" in /sys/fs/cgroup*:tmpfs|/sys/fs/cgroup*:cgroup|/sys/fs/cgroup*:cgroup2) mkdir -p "$point" && mount -t "$type" -o "$opts" "$type" "$point" || :;; esac; done < /proc/1/mounts'
  // The VM's own /run also hides the host's /run/systemd (sd_booted()), so nothing in a VM starts
  // units that would run outside it.
  const script = [...binds, cgroups, 'cd /', 'exec "$@"'].join(' && ')
  // setpriv execs in place (no forked parent), so a recorded pid is the service itself.
  const asUser = user && user !== 'root' ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env'] : []
  const envArgs = Object.keys(env).length > 0 ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : []
  return ['ip', 'netns', 'exec', vm.netns, 'sh', '-c', script, 'vm-exec', ...asUser, ...envArgs, ...argv]
}
