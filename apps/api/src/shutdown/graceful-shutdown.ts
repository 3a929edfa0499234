// SIGTERM/SIGINT: stop being ready, stop accepting, let in-flight requests finish (bounded),
// release the pools, exit 0. A forced exit on an unref'd timer guards against anything hanging.
import type { Server } from 'node:http'
import type { RequestHandler } from 'express'
import type { Logger } from 'pino'
import type { Lifecycle } from './lifecycle.js'

export interface InFlight {
  middleware: RequestHandler
  count(): number
}

export function trackInFlight(): InFlight {
  let current = 0
  return {
    middleware: (_req, res, next) => {
      current++
      let done = false
      const finish = () => {
        if (done) return
        done = true
        current--
      }
      res.once('finish', finish)
      res.once('close', finish)
      next()
    },
    count: () => current,
  }
}

export interface ShutdownOptions {
  server: Server
  lifecycle: Lifecycle
  inFlight: InFlight
  logger: Logger
  timeoutMs: number
  close: () => Promise<void>
  exit?: (code: number) => void
}

/** @returns the shutdown function (also bound to SIGTERM and SIGINT). */
export function installGracefulShutdown({ server, lifecycle, inFlight, logger, timeoutMs, close, exit = process.exit }: ShutdownOptions) {
  let started: Promise<void> | undefined
  const shutdown = (signal: string) => {
    started ??= (async () => {
      logger.info({ signal, inFlight: inFlight.count() }, 'shutting down: draining')
      lifecycle.draining = true
      setTimeout(() => {
        logger.error('shutdown took too long: forced exit')
        exit(1)
      }, timeoutMs + 5000).unref()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const deadline = Date.now() + timeoutMs
      while (inFlight.count() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      if (inFlight.count() > 0) logger.warn({ inFlight: inFlight.count() }, 'in-flight requests cut off at the shutdown timeout')
      // Whatever is left is idle keep-alive connections (or requests past the deadline).
      server.closeAllConnections()
      await closed
      await close()
      logger.info('stopped')
      exit(0)
    })()
    return started
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  return shutdown
}
