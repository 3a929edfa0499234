// The .env bring-up writes: the DSN and a retry budget that outlasts a failover under the
// inventory's profile; lab-down recognises it as bring-up's.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { bringupEnvText } from '../../scripts/lib/env-file.mjs'
import { loadInventory } from '../../scripts/lib/inventory.mjs'
import { labEnvFileVerdict } from '../../scripts/lib/lab-env-file.mjs'
import { deployDir } from '../support/run-script.mjs'

const lab = path.join(deployDir, 'inventory/lab.yml')

describe('the env file bring-up writes', () => {
  it('carries a retry budget that outlasts a failover under the profile', async () => {
    const fast = bringupEnvText(await loadInventory(lab), 's3cret')
    expect(fast).toContain("DATABASE_URL='postgresql://app:s3cret@10.213.37.11:5432,10.213.37.12:5432,10.213.37.13:5433/app?")
    expect(fast).toMatch(/^DB_RETRY_BUDGET_MS=34000$/m)
    const stock = bringupEnvText(await loadInventory(lab, { extraVars: { failover_profile: 'default' } }), 's3cret')
    expect(stock).toMatch(/^DB_RETRY_BUDGET_MS=68000$/m)
  })

  it('is what lab-down removes with the lab', async () => {
    expect(labEnvFileVerdict(bringupEnvText(await loadInventory(lab), 's3cret'), { subnet: '10.213.37.0/24' })).toMatchObject({
      remove: true,
    })
  })
})
