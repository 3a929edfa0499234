import { describe, expect, it } from 'vitest'
import { EnvError, loadEnv } from '../../src/config/env.js'

const DSN = 'postgresql://app:s3cret@10.0.0.11:5432,10.0.0.12:5432/app?target_session_attrs=read-write'

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    expect(loadEnv({ DATABASE_URL: DSN })).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 3000,
      DB_RETRY_BUDGET_MS: 10_000,
      DB_POOL_MAX: 10,
      SHUTDOWN_TIMEOUT_MS: 10_000,
    })
  })

  it('names every invalid variable, without echoing any value', () => {
    const attempt = () => loadEnv({ DATABASE_URL: '', PORT: '70000', DB_POOL_MAX: 'lots', LOG_LEVEL: 's3cret' })
    expect(attempt).toThrow(EnvError)
    const message = (() => {
      try {
        attempt()
      } catch (error) {
        return (error as Error).message
      }
      return ''
    })()
    for (const name of ['DATABASE_URL', 'PORT', 'DB_POOL_MAX', 'LOG_LEVEL']) expect(message).toContain(`${name}:`)
    expect(message).not.toContain('s3cret')
  })
})
