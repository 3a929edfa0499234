// Installs missing Debian packages, idempotently: a no-op when all are present.
import fs from 'node:fs/promises'
import { $ } from 'zx'

const POLICY_RC_D = '/usr/sbin/policy-rc.d'

/**
 * @param {string[]} packages
 * @param {{log?: (line: string) => void, startServices?: boolean}} [options]
 *   startServices: false keeps the packages' daemons from starting on this host (a Debian
 *   policy-rc.d answering "no" for the install), e.g. openssh-server, wanted only inside lab VMs
 */
export async function ensureDebianPackages(packages, { log = () => {}, startServices = true } = {}) {
  /** @type {string[]} */
  const missing = []
  for (const pkg of packages) {
    const out = await $`dpkg-query -W -f=${'${Status}'} ${pkg}`.quiet().nothrow()
    if (!out.stdout.includes('install ok installed')) missing.push(pkg)
  }
  if (missing.length === 0) return []
  log(`installing Debian packages: ${missing.join(' ')}`)
  const ownPolicy =
    !startServices &&
    (await fs
      .writeFile(POLICY_RC_D, '#!/bin/sh\n# pg-ha-kit: no daemon starts during this install\nexit 101\n', { mode: 0o755, flag: 'wx' })
      .then(
        () => true,
        () => false,
      ))
  try {
    await aptInstall(missing)
  } finally {
    if (ownPolicy) await fs.rm(POLICY_RC_D, { force: true })
  }
  return missing
}

/** @param {string[]} missing */
async function aptInstall(missing) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let install = await $({ env })`apt-get install -y --no-install-recommends ${missing}`.quiet().nothrow()
  if (install.exitCode !== 0) {
    await $({ env })`apt-get update`.quiet()
    install = await $({ env })`apt-get install -y --no-install-recommends ${missing}`.quiet().nothrow()
  }
  if (install.exitCode !== 0) {
    throw new Error(
      `apt-get install ${missing.join(' ')} failed (exit ${install.exitCode}): ${install.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    )
  }
}

/** Exits 2 unless this process runs as root. @param {string} what who needs it, for the message */
export function ensureRoot(what) {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${what} needs root (network namespaces, mounts, packages); run it as root or with sudo\n`)
    process.exit(2)
  }
}
