// npm run lab:down (scripts/lab-down.mjs): the lab goes, and with it the env file lab-up wrote,
// but only when that file is the lab's (what bring-up writes, its DATABASE_URL inside the lab's
// subnet); a user's own file stays, and the script says so. No lab is brought up here.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { labEnvFileVerdict } from '../../scripts/lib/lab-env-file.mjs'
import { resolveLabConfig } from '../../lab/lab-config.mjs'
import { writeLabInventory } from '../support/lab-cluster.mjs'
import { runScript } from '../support/run-script.mjs'

const SUBNET = '10.213.37.0/24'
const labUrl =
  'postgresql://app:s3cr%2Ft@10.213.37.11:5432,10.213.37.12:5432,10.213.37.13:5433/app?target_session_attrs=read-write&connect_timeout=3'
/** What bring-up writes (bringup-steps.mjs envFileStep). */
const written = (url = labUrl) =>
  [
    '# Written by deploy/scripts/bringup.mjs; holds a password: keep it 0600 and out of git.',
    `DATABASE_URL='${url}'`,
    '# Outlasts a failover under the "fast" profile (failover-profiles.mjs clientRetryBudgetMs).',
    'DB_RETRY_BUDGET_MS=34000',
    "PGHA_INVENTORY='/work/main/deploy/inventory/lab.yml'",
    '',
  ].join('\n')

describe('labEnvFileVerdict', () => {
  it('removes the file bring-up wrote for the lab', () => {
    expect(labEnvFileVerdict(written(), { subnet: SUBNET })).toMatchObject({ remove: true })
  })
  it('keeps a file whose DSN points elsewhere, even partly', () => {
    expect(labEnvFileVerdict(written(labUrl.replace('10.213.37.12', '10.0.0.12')), { subnet: SUBNET })).toMatchObject({
      remove: false,
      reason: expect.stringMatching(/10\.0\.0\.12 is not in the lab's subnet 10\.213\.37\.0\/24/),
    })
    expect(labEnvFileVerdict(written(labUrl.replaceAll('10.213.37.', '10.213.38.')), { subnet: SUBNET }).remove).toBe(false)
    expect(labEnvFileVerdict(written('postgresql://app@db.example.com:5432/app'), { subnet: SUBNET }).remove).toBe(false)
  })
  it('keeps a file with anything bring-up does not write', () => {
    const withMore = written() + 'PORT=8080\n'
    expect(labEnvFileVerdict(withMore, { subnet: SUBNET })).toMatchObject({ remove: false, reason: expect.stringMatching(/PORT/) })
    expect(labEnvFileVerdict('# nothing\nPGHA_INVENTORY=x\n', { subnet: SUBNET })).toMatchObject({
      remove: false,
      reason: expect.stringMatching(/no DATABASE_URL/),
    })
    expect(labEnvFileVerdict('', { subnet: SUBNET }).remove).toBe(false)
  })
})

describe('lab-down.mjs', () => {
  // A lab that is never brought up (name and subnet of this file's own): down is a no-op for it.
  const lab = resolveLabConfig({ name: 'pghld', subnet: '10.213.62.0/24', vms: 3 })
  /** @type {string} */
  let dir
  /** @type {string} */
  let inventory
  /** @type {string} */
  let inventoryDir

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgha-lab-down-'))
    const labInventory = await writeLabInventory({ name: lab.name, subnet: lab.subnet })
    inventory = labInventory.file
    inventoryDir = labInventory.dir
  })
  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true })
    if (inventoryDir) await fs.rm(inventoryDir, { recursive: true, force: true })
  })

  /** @param {string} envFile */
  const down = (envFile) =>
    runScript('scripts/lab-down.mjs', ['--inventory', inventory, '--env-output', envFile, '--no-api'], { timeoutMs: 60_000 })

  it('removes the env file lab-up wrote for this lab', async () => {
    const envFile = path.join(dir, 'lab.env')
    await fs.writeFile(envFile, written(labUrl.replaceAll('10.213.37.', '10.213.62.')), { mode: 0o600 })
    const out = await down(envFile)
    expect(out.code, out.stderr).toBe(0)
    await expect(fs.access(envFile)).rejects.toThrow()
    expect(out.stderr).toContain(`removed ${envFile}`)
    await expect(fs.access(lab.dir)).rejects.toThrow()
  })

  it("leaves a file that is not the lab's, and says it remains", async () => {
    const envFile = path.join(dir, 'mine.env')
    await fs.writeFile(envFile, written())
    const out = await down(envFile)
    expect(out.code, out.stderr).toBe(0)
    expect(await fs.readFile(envFile, 'utf8')).toBe(written())
    expect(out.stderr).toMatch(new RegExp(`${envFile.replaceAll('.', '\\.')} remains: .*not in the lab's subnet 10\\.213\\.62\\.0/24`))
  })

  it('says nothing is there when there is no env file', async () => {
    const out = await down(path.join(dir, 'none.env'))
    expect(out.code, out.stderr).toBe(0)
    expect(out.stderr).toMatch(/no env file at .*none\.env/)
  })
})
