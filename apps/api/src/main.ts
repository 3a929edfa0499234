// The service process: settings, dependencies, the HTTP server, graceful shutdown.
// DATABASE_URL comes from the environment or the repository's .env (written by bring-up; or the
// file PGHA_ENV_FILE names).
import { pino } from 'pino'
import { createApp } from './app.js'
import { EnvError, loadEnv } from './config/env.js'
import { loadEnvFileIfNeeded } from './config/env-file.js'
import { createDeps } from './deps.js'
import { installGracefulShutdown, trackInFlight } from './shutdown/graceful-shutdown.js'

loadEnvFileIfNeeded()

let env
try {
  env = loadEnv()
} catch (error) {
  if (!(error instanceof EnvError)) throw error
  process.stderr.write(`api: ${error.message}\n`)
  process.exit(2)
}

const logger = pino({ level: env.LOG_LEVEL, redact: ['req.headers.authorization', 'req.headers.cookie'] })
const deps = createDeps(env, logger)
const inFlight = trackInFlight()
const app = createApp({ ...deps, inFlight })
const server = app.listen(env.PORT, env.HOST, (error) => {
  if (error) {
    logger.fatal({ err: { message: error.message } }, `cannot listen on ${env.HOST}:${env.PORT}`)
    process.exit(1)
  }
  logger.info({ address: server.address() }, 'listening')
})
installGracefulShutdown({
  server,
  lifecycle: deps.lifecycle,
  inFlight,
  logger,
  timeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  close: () => deps.close(),
})
