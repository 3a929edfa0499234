// The READMEs' examples run as written on a fresh Debian/Ubuntu machine (nothing beyond the
// base system, Node.js and curl).
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { idempotencyKeySchema } from '../../src/orders/order-schema.js'

const run = promisify(execFile)
const ROOT_README = new URL('../../../../README.md', import.meta.url)

describe('README examples', () => {
  it('makes the Idempotency-Key of its curl examples with a command every machine has (not uuidgen)', async () => {
    const readme = await readFile(ROOT_README, 'utf8')
    const commands = [...readme.matchAll(/idempotency-key: \$\((.+?)\)"/gi)].map((m) => m[1] as string)
    expect(commands.length).toBeGreaterThan(0)
    for (const command of commands) {
      expect(command).not.toMatch(/uuidgen/)
      // The base system's PATH only: what a fresh machine has.
      const { stdout } = await run('sh', ['-c', command], { env: { PATH: '/usr/bin:/bin' } })
      expect(idempotencyKeySchema.safeParse(stdout.trim()).success, `${command} -> ${stdout}`).toBe(true)
    }
  })
})
