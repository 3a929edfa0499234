#!/usr/bin/env node
// build-image: the pg_auto_failover 2.0 / PostgreSQL 15 image from Debian packages, for users who
// cannot pull citusdata/pg_auto_failover (air-gapped networks, policy). Same user, PATH and paths
// as citusdata's, so deploy/compose/ runs either image unchanged (see the Dockerfile's header).
//
// Steps: 1. ensure root and the Debian packages docker.io and debootstrap
//        2. a Docker daemon: --docker-host or DOCKER_HOST when given (it must answer), else the
//           host's default socket when it answers, else a private dockerd with everything under
//           --data-root (default /var/lib/pg-ha-kit/docker), stopped when this script ends;
//           the image and the build cache stay in that data root for the next run
//        3. the image's name: pg-ha-kit/pg-auto-failover:v2.0-pg15-<hash of the Dockerfile, the
//           pinned versions (image-spec.mjs) and the mirrors>; when that image exists, nothing
//           is built and the script says so
//        4. the base, when missing: debootstrap --variant=minbase bookworm into a temporary
//           directory, `tar | docker import` as pg-ha-kit/debian:bookworm-minbase-<hash>, the
//           directory removed
//        5. docker build --network host (the private daemon has no bridge) of deploy/image/
//        6. the stable alias pg-ha-kit/pg-auto-failover:v2.0-pg15 moved to the image (what
//           deploy/inventory/lab-docker.yml names)
//        7. the image cache: `docker save` of the image and its alias into --archive-dir (default
//           /var/lib/pg-ha-kit/images), unless that archive exists; archives of earlier builds
//           there are removed. The lab loads it into every VM's dockerd (lab up --docker --image);
//           on real VMs, `docker load -i` it. Prints the image, its size, the archive and the time
// --help and bad options change nothing (exit 0 / exit 2 before step 1).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { $ } from 'zx'
import { parseOptions } from '../lib/cli-options.mjs'
import { ensureDebianPackages, ensureRoot } from '../lib/ensure-packages.mjs'
import { InputError, exitOn } from '../lib/errors.mjs'
import { dockerAnswers, startPrivateDockerd } from './docker-daemon.mjs'
import { unmountUnder } from '../lib/mounts.mjs'
import {
  BASE,
  DEFAULT_ARCHIVE_DIR,
  DEFAULT_MIRRORS,
  IMAGE_ALIAS,
  IMAGE_DIR,
  VERSIONS,
  DEFAULT_DATA_ROOT,
  imageArchive,
  imageArchivesIn,
  imagePlan,
} from './image-spec.mjs'

const USAGE = `usage: build-image.mjs [--docker-host <unix:///path/docker.sock>] [--data-root <dir>] [--archive-dir <dir>] [--mirror <url>] [--security-mirror <url>]
  Builds ${IMAGE_ALIAS} (PostgreSQL 15, pg_auto_failover 2.0 from Debian bookworm
  packages: ${Object.entries(VERSIONS)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')}); a re-run with the same inputs does nothing.
  --docker-host       the daemon to build with (default: DOCKER_HOST, else the host's daemon when it
                      answers, else a private dockerd on --data-root, stopped at the end)
  --data-root         the private dockerd's directory (default /var/lib/pg-ha-kit/docker)
  --archive-dir       where the image is saved for docker load (default ${DEFAULT_ARCHIVE_DIR})
  --mirror            Debian mirror (default ${DEFAULT_MIRRORS.mirror})
  --security-mirror   Debian security mirror (default ${DEFAULT_MIRRORS.securityMirror})`
const HOST_SOCKET = 'unix:///var/run/docker.sock'

/** @param {string} line */
const log = (line) => process.stderr.write(`build-image: ${line}\n`)
/** @param {number} since a performance.now() @returns {string} */
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`

/** @type {(() => Promise<void>) | null} */
let stopDaemon = null
try {
  const { values: args } = parseOptions(process.argv.slice(2), {
    usage: USAGE,
    options: {
      'docker-host': { type: 'string' },
      'data-root': { type: 'string' },
      'archive-dir': { type: 'string' },
      mirror: { type: 'string' },
      'security-mirror': { type: 'string' },
    },
  })
  const mirrors = {
    mirror: mirrorOption(args.mirror, '--mirror') ?? DEFAULT_MIRRORS.mirror,
    securityMirror: mirrorOption(args['security-mirror'], '--security-mirror') ?? DEFAULT_MIRRORS.securityMirror,
  }
  const requestedHost = args['docker-host'] ?? (process.env.DOCKER_HOST || undefined)
  if (requestedHost !== undefined && !/^(unix|tcp|ssh):\/\/\S+$/.test(requestedHost)) {
    throw new InputError(`--docker-host "${requestedHost}" is not a daemon address such as unix:///var/run/docker.sock`)
  }
  const dataRoot = path.resolve(args['data-root'] ?? DEFAULT_DATA_ROOT)
  const archiveDir = path.resolve(args['archive-dir'] ?? DEFAULT_ARCHIVE_DIR)
  const started = performance.now()

  log('step 1: root, docker.io and debootstrap')
  ensureRoot('build-image')
  await ensureDebianPackages(['docker.io', 'debootstrap'], { log, startServices: false })

  log('step 2: a Docker daemon')
  let host
  if (requestedHost !== undefined) {
    if (!(await dockerAnswers(requestedHost))) throw new Error(`no Docker daemon answers on ${requestedHost}`)
    host = requestedHost
    log(`using the daemon on ${host}`)
  } else if (await dockerAnswers(HOST_SOCKET)) {
    host = HOST_SOCKET
    log(`using the host's daemon on ${host}`)
  } else {
    const daemon = await startPrivateDockerd(dataRoot)
    stopDaemon = daemon.stop
    host = daemon.host
    log(`no daemon answers on ${HOST_SOCKET}: started a private dockerd on ${host} (data root ${dataRoot}/root), stopped at the end`)
  }
  const docker = $({ env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' } })
  /** @param {string} ref */
  const imageExists = async (ref) => (await docker`docker image inspect ${ref}`.quiet().nothrow()).exitCode === 0

  const plan = await imagePlan(mirrors)
  log(`step 3: ${plan.image}`)
  if (await imageExists(plan.image)) {
    await docker`docker tag ${plan.image} ${plan.alias}`.quiet()
    log(`${plan.image} is already built from these inputs: nothing to do`)
  } else {
    if (await imageExists(plan.base)) {
      log(`step 4: base ${plan.base} already imported`)
    } else {
      log(`step 4: base ${plan.base} (debootstrap --variant=${BASE.variant} ${BASE.suite} ${mirrors.mirror})`)
      const t = performance.now()
      await importBase(docker, plan.base, mirrors.mirror)
      log(`step 4: base imported in ${seconds(t)}`)
    }
    log('step 5: docker build --network host')
    const t = performance.now()
    const buildArgs = Object.entries(plan.buildArgs).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`])
    const build = await docker`docker build --network host --pull=false ${buildArgs} -t ${plan.image} ${IMAGE_DIR}`.quiet().nothrow()
    if (build.exitCode !== 0) {
      throw new Error(
        `docker build failed (exit ${build.exitCode}): ${(build.stdout + build.stderr).trim().split('\n').slice(-5).join(' | ')}`,
      )
    }
    log(`step 5: built in ${seconds(t)}`)
    log(`step 6: ${plan.alias}`)
    await docker`docker tag ${plan.image} ${plan.alias}`.quiet()
  }
  const size = Number((await docker`docker image inspect --format ${'{{.Size}}'} ${plan.image}`.quiet()).stdout.trim())
  const archive = imageArchive(archiveDir, plan)
  if (fs.existsSync(archive)) {
    log(`step 7: ${archive} already holds it`)
  } else {
    log(`step 7: docker save to ${archive}`)
    const t = performance.now()
    fs.mkdirSync(archiveDir, { recursive: true, mode: 0o755 })
    const partial = `${archive}.partial`
    try {
      await docker`docker save --output ${partial} ${plan.image} ${plan.alias}`.quiet()
      fs.renameSync(partial, archive)
    } finally {
      fs.rmSync(partial, { force: true })
    }
    log(`step 7: saved in ${seconds(t)}`)
  }
  const stale = imageArchivesIn(archiveDir).filter((file) => file !== archive)
  for (const file of stale) fs.rmSync(file, { force: true })
  if (stale.length > 0) log(`step 7: removed earlier archives ${stale.map((file) => path.basename(file)).join(', ')}`)
  process.stdout.write(`${plan.image}\n${plan.alias}\nsize ${(size / 1e6).toFixed(0)} MB\narchive ${archive}\ntime ${seconds(started)}\n`)
  if (stopDaemon) {
    log(`the image stays in ${dataRoot}/root: start a dockerd on it to use it, or send it elsewhere with docker save`)
  }
} catch (error) {
  await stopDaemon?.()
  stopDaemon = null
  exitOn(error, { name: 'build-image', firstLine: true })
} finally {
  await stopDaemon?.()
}

/** @param {string | undefined} value @param {string} flag */
function mirrorOption(value, flag) {
  if (value === undefined) return undefined
  if (!/^https?:\/\/[^\s'"]+$/.test(value)) throw new InputError(`${flag} "${value}" is not an http(s) URL`)
  return value.replace(/\/+$/, '')
}

/**
 * debootstrap into a temporary directory, then `tar | docker import`; the directory goes
 * whatever happens (with any mount debootstrap left in it).
 * @param {(pieces: TemplateStringsArray, ...args: any[]) => import('zx').ProcessPromise} docker zx with DOCKER_HOST set @param {string} tag @param {string} mirror
 */
async function importBase(docker, tag, mirror) {
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'pgha-img-rootfs-'))
  try {
    const boot = await $`debootstrap --variant=${BASE.variant} ${BASE.suite} ${rootfs} ${mirror}`.quiet().nothrow()
    if (boot.exitCode !== 0) {
      throw new Error(`debootstrap failed (exit ${boot.exitCode}): ${(boot.stdout + boot.stderr).trim().split('\n').slice(-3).join(' | ')}`)
    }
    // Downloaded packages and lists: the Dockerfile fetches its own.
    await $`find ${path.join(rootfs, 'var/cache/apt/archives')} ${path.join(rootfs, 'var/lib/apt/lists')} -type f -delete`.quiet().nothrow()
    await docker`bash -c ${'set -o pipefail; tar --numeric-owner -C "$1" -c . | docker import - "$2" >/dev/null'} import-base ${rootfs} ${tag}`.quiet()
  } finally {
    await unmountUnder(rootfs)
    await $`rm -rf --one-file-system ${rootfs}`.quiet().nothrow()
  }
}
