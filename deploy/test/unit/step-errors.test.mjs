// A failed step is a StepError (its step, host and stable code, the original as its cause), and
// every entry point summarizes an error the same way.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { InputError, KitError, StepError, exitCodeFor, failureSummary } from '../../lib/errors.mjs'
import { createProgress } from '../../scripts/lib/progress.mjs'

const quietProgress = () => createProgress({ out: new Writable({ write: (_chunk, _encoding, done) => done() }) })

describe('step errors', () => {
  it('wraps what a step throws, keeping its message and cause', async () => {
    const cause = new Error('psql exited 2: boom')
    const error = await quietProgress()
      .step('passfile', 'vm1', async () => {
        throw cause
      })
      .catch((e) => e)
    expect(error).toBeInstanceOf(StepError)
    expect(error).toMatchObject({ code: 'STEP_FAILED', step: 'passfile', host: 'vm1', message: cause.message, cause })
    expect(exitCodeFor(error)).toBe(1)
    expect(failureSummary(error, { name: 'bringup' })).toBe('bringup: failed at step "passfile": psql exited 2: boom\n')
  })

  it("keeps a KitError's code: bad input found in a step is still exit 2", async () => {
    const progress = quietProgress()
    const unreachable = await progress
      .step('reachable', undefined, async () => {
        throw new KitError('cannot use a host', { code: 'HOST_UNREACHABLE' })
      })
      .catch((e) => e)
    expect(unreachable.code).toBe('HOST_UNREACHABLE')
    const input = await progress
      .step('check', undefined, async () => {
        throw new InputError('--node is required')
      })
      .catch((e) => e)
    expect(input).toMatchObject({ code: 'INPUT_INVALID', step: 'check' })
    expect(exitCodeFor(input)).toBe(2)
    expect(failureSummary(input, { name: 'add-node' })).toBe('add-node: invalid input: --node is required\n')
  })

  it('passes a StepError from an inner step through an outer one unchanged', async () => {
    const progress = quietProgress()
    const error = await progress
      .step('outer', undefined, async () => {
        await progress.step('inner', 'vm2', async () => {
          throw new Error('x')
        })
        return { changed: false, detail: 'not reached: the inner step throws' }
      })
      .catch((e) => e)
    expect(error).toMatchObject({ step: 'inner', host: 'vm2' })
    expect(progress.results.map((r) => `${r.step}:${r.status}`)).toEqual(['inner:failed', 'outer:failed'])
  })

  it('scrubs the message and can keep only its first line', () => {
    const error = new Error('password s3cret-pass refused\nmore detail')
    expect(failureSummary(error, { name: 'lab-up', firstLine: true, scrub: (t) => t.replaceAll('s3cret-pass', '***') })).toBe(
      'lab-up: failed: password *** refused\n',
    )
  })
})
