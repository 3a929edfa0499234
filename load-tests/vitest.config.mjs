import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/*.test.mjs'], testTimeout: 30_000 } },
      {
        test: {
          name: 'lab',
          include: ['test/lab/*.test.mjs'],
          // Drills fault a lab cluster of their own: one file at a time.
          fileParallelism: false,
          testTimeout: 900_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
})
