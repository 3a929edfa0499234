// Installs missing Debian packages, idempotently: a no-op when all are present.
import { $ } from 'zx'

/** @param {string[]} packages @param {{log?: (line: string) => void}} [options] */
export async function ensureDebianPackages(packages, { log = () => {} } = {}) {
  const missing = []
  for (const pkg of packages) {
    const out = await $`dpkg-query -W -f=${'${Status}'} ${pkg}`.quiet().nothrow()
    if (!out.stdout.includes('install ok installed')) missing.push(pkg)
  }
  if (missing.length === 0) return []
  log(`installing Debian packages: ${missing.join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let install = await $({ env })`apt-get install -y --no-install-recommends ${missing}`.quiet().nothrow()
  if (install.exitCode !== 0) {
    await $({ env })`apt-get update`.quiet()
    install = await $({ env })`apt-get install -y --no-install-recommends ${missing}`.quiet().nothrow()
  }
  if (install.exitCode !== 0) {
    throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${install.exitCode}): ${install.stderr.trim().split('\n').slice(-3).join(' | ')}`)
  }
  return missing
}

export function ensureRoot(what) {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${what} needs root (network namespaces, mounts, packages); run it as root or with sudo\n`)
    process.exit(2)
  }
}
