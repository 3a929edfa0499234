import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      // Offline: inventories, rendered files, plans, option parsing.
      { test: { name: 'unit', include: ['test/unit/*.test.mjs'], testTimeout: 60_000 } },
      {
        test: {
          name: 'lab',
          include: ['test/lab/*.test.mjs'],
          // Lab suites each own a lab (distinct name and subnet) but share 2 cores: one file at
          // a time keeps failover timings meaningful.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
})
