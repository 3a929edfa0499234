import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/*.test.ts'] } },
      // Against a throwaway local PostgreSQL server each file starts (test/support/local-postgres.ts).
      { test: { name: 'db', include: ['test/db/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 } },
      {
        test: {
          name: 'lab',
          include: ['test/lab/*.test.ts'],
          // One lab cluster for every file of this project; they inject faults into it, so one
          // file at a time.
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
})
