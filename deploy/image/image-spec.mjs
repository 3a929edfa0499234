// What deploy/image/Dockerfile is built from, written in one place: the pinned Debian versions,
// the base file system, the image's names. The image's tag carries a hash of these inputs and
// the Dockerfile, so a build with the same inputs finds its image and does nothing.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const IMAGE_DIR = path.dirname(fileURLToPath(import.meta.url))
export const DOCKERFILE = path.join(IMAGE_DIR, 'Dockerfile')

/**
 * Pinned versions: the candidates of `apt-cache policy postgresql-15 postgresql-15-auto-failover
 * pg-auto-failover-cli` on a Debian 12 machine (2026-12-02). postgresql-15 comes from
 * bookworm-security, which keeps only its latest upload: when a newer one replaces it, the build
 * fails at apt-get install (version not found) until this line is updated.
 */
export const VERSIONS = Object.freeze({
  'postgresql-15': '15.20-0+deb12u1',
  'postgresql-15-auto-failover': '2.0-2+b1',
  'pg-auto-failover-cli': '2.0-2+b1',
})

/** The base: `debootstrap --variant=<variant> <suite>` from `mirror`, imported with docker import. */
export const BASE = Object.freeze({ suite: 'bookworm', variant: 'minbase', repository: 'pg-ha-kit/debian' })

export const DEFAULT_MIRRORS = Object.freeze({
  mirror: 'http://deb.debian.org/debian',
  securityMirror: 'http://deb.debian.org/debian-security',
})

export const IMAGE_REPOSITORY = 'pg-ha-kit/pg-auto-failover'
/** The stable name inventories use (deploy/inventory/lab-docker.yml); every build moves it to its image. */
export const IMAGE_ALIAS = `${IMAGE_REPOSITORY}:v2.0-pg15`

/** The private dockerd's directory when no daemon is given: the image and build cache stay there. */
export const DEFAULT_DATA_ROOT = '/var/lib/pg-ha-kit/docker'

/** The image cache: `docker save` archives the lab loads into every VM's dockerd. */
export const DEFAULT_ARCHIVE_DIR = '/var/lib/pg-ha-kit/images'
const ARCHIVE_PREFIX = 'pg-auto-failover-'

/** The archive of `plan`'s image in `dir`. @param {string} dir @param {{inputsHash: string}} plan */
export const imageArchive = (dir, plan) => path.join(dir, `${ARCHIVE_PREFIX}v2.0-pg15-${plan.inputsHash}.tar`)

/** Every image archive in `dir`, of this build or an earlier one. @param {string} dir @returns {string[]} */
export function imageArchivesIn(dir) {
  const names = (() => {
    try {
      return readdirSync(dir)
    } catch {
      return []
    }
  })()
  return names.filter((name) => name.startsWith(ARCHIVE_PREFIX) && name.endsWith('.tar')).map((name) => path.join(dir, name))
}

/** 12 hex digits of a sha256. @param {unknown} value */
const shortHash = (value) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12)

/**
 * The names of the base and of the image for these mirrors, each tagged with a hash of what
 * makes it: the base of suite, variant and mirror; the image of that, the Dockerfile and the
 * versions.
 * @param {{mirror: string, securityMirror: string}} mirrors
 */
export async function imagePlan(mirrors) {
  const dockerfile = await fs.readFile(DOCKERFILE, 'utf8')
  const baseHash = shortHash({ suite: BASE.suite, variant: BASE.variant, mirror: mirrors.mirror })
  const base = `${BASE.repository}:${BASE.suite}-${BASE.variant}-${baseHash}`
  const inputsHash = shortHash({ base, dockerfile, versions: VERSIONS, securityMirror: mirrors.securityMirror })
  return {
    base,
    image: `${IMAGE_REPOSITORY}:v2.0-pg15-${inputsHash}`,
    alias: IMAGE_ALIAS,
    inputsHash,
    buildArgs: {
      BASE: base,
      MIRROR: mirrors.mirror,
      SECURITY_MIRROR: mirrors.securityMirror,
      POSTGRESQL_15_VERSION: VERSIONS['postgresql-15'],
      AUTO_FAILOVER_VERSION: VERSIONS['postgresql-15-auto-failover'],
      AUTO_FAILOVER_CLI_VERSION: VERSIONS['pg-auto-failover-cli'],
      INPUTS_HASH: inputsHash,
    },
  }
}
