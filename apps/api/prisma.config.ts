// Prisma 7 reads the datasource URL from here, not from schema.prisma.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'prisma/config'

// Prisma 7 no longer loads .env itself; bring-up writes DATABASE_URL to the repo-root .env.
const rootEnv = fileURLToPath(new URL('../../.env', import.meta.url))
if (process.env.DATABASE_URL === undefined && existsSync(rootEnv)) process.loadEnvFile(rootEnv)

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  // Optional: `prisma generate` needs no database. Prisma's own engine takes one host only, so point
  // `prisma migrate status` at the primary; src/db/migrate-cli.ts handles multi-host DSNs itself.
  datasource: { url: process.env.DATABASE_URL },
})
