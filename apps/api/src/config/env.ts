// The service's settings, validated once at start-up: a bad value stops the process with a
// message naming the variable, before anything listens or connects.
import { z } from 'zod'

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

export const envSchema = z.object({
  DATABASE_URL: z.string().min(1, 'is required (bring-up writes it to .env)'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Connections per pool (one pool for writes, one for eventual reads). */
  DB_POOL_MAX: integer(1, 1000).default(10),
  /** How long a request keeps retrying database work across a failover before answering 503. */
  DB_RETRY_BUDGET_MS: integer(0, 600_000).default(10_000),
  /** Client-side statement timeout: the only bound on a statement caught on a cut-off primary. */
  DB_QUERY_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  READ_MAX_REPLAY_LAG_BYTES: integer(0, Number.MAX_SAFE_INTEGER).default(16 * 1024 * 1024),
  READ_MAX_REPLAY_LAG_SECONDS: integer(0, 86_400).default(5),
  /** How long in-flight requests may take to finish after SIGTERM. */
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
})

export type Env = z.infer<typeof envSchema>

export class EnvError extends Error {
  readonly code = 'ENV_INVALID'
}

/** @throws EnvError listing every invalid variable (values are never echoed: they may be secrets). */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = envSchema.safeParse(source)
  if (result.success) return result.data
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
  throw new EnvError(`invalid environment:\n${lines.join('\n')}`)
}
