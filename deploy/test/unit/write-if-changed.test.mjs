// WRITE_IF_CHANGED_SH, the file writer of every step that puts a file on a host: a file already
// holding the text with its mode is left alone ("unchanged"), anything else is replaced whole,
// a mode loosened by hand included (key and configuration files must stay 0600).
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { $ } from 'zx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WRITE_IF_CHANGED_SH } from '../../lib/shell.mjs'

/** @type {string} */
let dir
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-write-'))
})
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true })
})

/** @param {string} file @param {string} mode @param {string} text */
async function write(file, mode, text) {
  const out = await $({ quiet: true, input: text })`sh -c ${WRITE_IF_CHANGED_SH} write ${file} ${mode}`
  return out.stdout.trim()
}
/** @param {string} file */
const modeOf = async (file) => ((await fs.stat(file)).mode & 0o777).toString(8)

describe('WRITE_IF_CHANGED_SH', () => {
  it('writes a new file with its mode, then leaves the same text and mode alone', async () => {
    const file = path.join(dir, 'node.conf')
    expect(await write(file, '0600', 'a=1\n')).toBe('')
    expect(await fs.readFile(file, 'utf8')).toBe('a=1\n')
    expect(await modeOf(file)).toBe('600')
    expect(await write(file, '0600', 'a=1\n')).toBe('unchanged')
  })

  it('replaces other text, and puts back a mode loosened by hand', async () => {
    const file = path.join(dir, 'repo.conf')
    await write(file, '0600', 'a=1\n')
    expect(await write(file, '0600', 'a=2\n')).toBe('')
    expect(await fs.readFile(file, 'utf8')).toBe('a=2\n')
    await fs.chmod(file, 0o644)
    expect(await write(file, '0600', 'a=2\n')).toBe('')
    expect(await modeOf(file)).toBe('600')
    // No temporary file left beside it.
    expect((await fs.readdir(dir)).sort()).toEqual(['node.conf', 'repo.conf'])
  })
})
