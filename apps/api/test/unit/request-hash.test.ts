import { describe, expect, it } from 'vitest'
import { canonicalJson, requestHash } from '../../src/orders/request-hash.js'

describe('requestHash', () => {
  it('ignores key order and undefined members, at every depth', () => {
    const a = { customerId: 'c', items: [{ sku: 's', quantity: 1 }], note: undefined }
    const b = { items: [{ quantity: 1, sku: 's' }], customerId: 'c' }
    expect(canonicalJson(a)).toBe('{"customerId":"c","items":[{"quantity":1,"sku":"s"}]}')
    expect(requestHash(a)).toBe(requestHash(b))
  })

  it('tells apart bodies that differ in any value or in item order', () => {
    const base = { customerId: 'c', items: [{ sku: 'a' }, { sku: 'b' }] }
    const variants = [
      { ...base, customerId: 'd' },
      { ...base, items: [{ sku: 'b' }, { sku: 'a' }] },
      { ...base, note: '' },
    ]
    for (const variant of variants) expect(requestHash(variant)).not.toBe(requestHash(base))
    expect(requestHash(base)).toMatch(/^[0-9a-f]{64}$/)
  })
})
