import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.mjs'],
    // Lab suites each own a lab (distinct name and subnet) but share 2 cores: one file at a time
    // keeps failover timings meaningful.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
})
