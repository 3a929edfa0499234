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
  // A VM has no systemd of its own: on a systemd host, hide the host's (sd_booted() looks for
  // /run/systemd/system), so nothing in a VM starts units that would run outside it.
  const noSystemd = '{ [ ! -d /run/systemd/system ] || mount -t tmpfs -o mode=0755,size=64k pgha-vm /run/systemd; }'
  const script = [...binds, noSystemd, 'cd /', 'exec "$@"'].join(' && ')
  // setpriv execs in place (no forked parent), so a recorded pid is the service itself.
  const asUser = user && user !== 'root' ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--reset-env'] : []
  const envArgs = Object.keys(env).length > 0 ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)] : []
  return ['ip', 'netns', 'exec', vm.netns, 'sh', '-c', script, 'vm-exec', ...asUser, ...envArgs, ...argv]
}
