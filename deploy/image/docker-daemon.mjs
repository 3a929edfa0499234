// A Docker daemon to build with: one that already answers, or a private dockerd whose data
// root, exec root, socket and pid file all live under one directory of its own, so it touches
// none of the host's defaults and several can run at once (no bridge, no iptables: builds and
// containers use --network host).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { $ } from 'zx'
import { unmountUnder } from '../lib/mounts.mjs'

/** Does a daemon answer on `host` (a DOCKER_HOST value)? @param {string} host */
export async function dockerAnswers(host) {
  const out = await $({ env: { ...process.env, DOCKER_HOST: host }, timeout: 10_000 })`docker version --format ${'{{.Server.Version}}'}`
    .quiet()
    .nothrow()
  return out.exitCode === 0 && out.stdout.trim() !== ''
}

/**
 * Starts dockerd with everything under `dir`: dir/root (data root: images, build cache),
 * dir/exec, dir/docker.sock, dir/docker.pid, dir/dockerd.log. Waits until it answers.
 * @param {string} dir
 * @param {{timeoutMs?: number}} [options]
 * @returns {Promise<{host: string, stop: () => Promise<void>}>}
 */
export async function startPrivateDockerd(dir, { timeoutMs = 60_000 } = {}) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const host = `unix://${path.join(dir, 'docker.sock')}`
  const logFile = path.join(dir, 'dockerd.log')
  const logFd = fs.openSync(logFile, 'a')
  const child = spawn(
    'dockerd',
    [
      ...['--data-root', path.join(dir, 'root'), '--exec-root', path.join(dir, 'exec')],
      ...['-H', host, '--pidfile', path.join(dir, 'docker.pid'), '--iptables=false', '--bridge=none'],
    ],
    { stdio: ['ignore', logFd, logFd] },
  )
  fs.closeSync(logFd)
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => {
    child.once('exit', () => resolve())
    // No dockerd binary (docker.io not installed): reported below as "exited" with its reason.
    child.once('error', (error) => {
      fs.appendFileSync(logFile, `${error.message}\n`)
      resolve()
    })
  })
  let running = true
  void exited.then(() => {
    running = false
  })
  const stop = async () => {
    if (!running) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
    // dockerd leaves its own network namespace (exec/netns/default) bind-mounted when it stops.
    await unmountUnder(dir)
  }
  const deadline = Date.now() + timeoutMs
  while (!(await dockerAnswers(host))) {
    if (!running || Date.now() > deadline) {
      const why = running ? `did not answer within ${timeoutMs / 1000} s` : 'exited'
      await stop()
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ')
      throw new Error(`dockerd under ${dir} ${why} (log ${logFile}): ${tail}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return { host, stop }
}
