// Whether something answers on a port: from this machine with a TCP connect (sshd in a lab VM),
// or from a host with pg_isready, run there through a transport (Postgres on the host itself,
// through its socket directory, or a monitor as a keeper on that host would reach it).
import net from 'node:net'

/**
 * Whether `host:port` accepts a TCP connection from this machine within `timeoutMs`.
 * @param {string} host @param {number} port @param {{timeoutMs?: number}} [options]
 * @returns {Promise<boolean>}
 */
export function acceptsTcp(host, port, { timeoutMs = 1000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs })
    const done = (/** @type {boolean} */ ok) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

/** Postgres' socket directory on Debian, and in the image of runtime "docker". */
export const PG_SOCKET_DIR = '/var/run/postgresql'

/**
 * pg_isready's command line: quiet, its exit code is the answer (pgIsReadyVerdict).
 * @param {number | string} port
 * @param {{host?: string, timeoutS?: number}} [options] host: an address, or a socket directory
 *   (PG_SOCKET_DIR unless given); timeoutS: pg_isready's own default (3 s) unless given
 * @returns {string[]}
 */
export function pgIsReadyArgv(port, { host = PG_SOCKET_DIR, timeoutS } = {}) {
  return ['pg_isready', '-q', '-p', String(port), '-h', host, ...(timeoutS === undefined ? [] : ['-t', String(timeoutS)])]
}

/**
 * What pg_isready's exit code says: 0 accepting connections; 1 rejecting them (starting up or
 * shutting down), but there; 2 no answer; 3 no attempt (bad parameters).
 * @param {number} exitCode
 * @returns {{accepting: boolean, answers: boolean}}
 */
export function pgIsReadyVerdict(exitCode) {
  return { accepting: exitCode === 0, answers: exitCode === 0 || exitCode === 1 }
}
