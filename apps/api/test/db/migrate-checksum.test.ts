// The checksum rules of prisma-engines' schema-connector/src/checksum.rs, with its own test vectors.
import { describe, expect, it } from 'vitest'
import { migrationChecksum, scriptMatchesChecksum } from '../../src/db/migrate.js'

describe('migration checksums', () => {
  it('is sha256 hex, zero-padded', () => {
    expect(migrationChecksum('hello')).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824')
    expect(migrationChecksum('abcd')).toHaveLength(64)
  })

  it('hashes the UTF-8 bytes of the script', () => {
    // sha256 of the bytes c3 a9, as `printf 'é' | sha256sum` gives.
    expect(migrationChecksum('é')).toBe('4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c')
  })

  it('matches across line endings, both ways', () => {
    const pairs = [
      ['ab\ncd\nef\ngh\rab', 'ab\r\ncd\r\nef\r\ngh\rab'],
      ['ab\ncd\nef\ngh\rab\n', 'ab\r\ncd\r\nef\r\ngh\rab\r\n'],
    ] as const
    for (const scripts of pairs) {
      for (const script of scripts) {
        for (const other of scripts) expect(scriptMatchesChecksum(script, migrationChecksum(other))).toBe(true)
      }
    }
  })

  it('does not match a different script', () => {
    expect(scriptMatchesChecksum('abc', migrationChecksum('abcd'))).toBe(false)
    expect(scriptMatchesChecksum('abc\n', migrationChecksum('abc'))).toBe(false)
  })

  it('accepts the unpadded checksums old schema engines wrote (prisma-engines#1887)', () => {
    const script = 'hello'
    const unpadded = Array.from(Buffer.from(migrationChecksum(script), 'hex'), (byte) => byte.toString(16)).join('')
    expect(unpadded.length).toBeLessThan(64)
    expect(scriptMatchesChecksum(script, unpadded)).toBe(true)
    expect(scriptMatchesChecksum('other', unpadded)).toBe(false)
  })
})
