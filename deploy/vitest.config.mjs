import { defineConfig } from 'vitest/config'

// The Docker and backup suites: no failover timing of theirs is compared, so they run beside
// the other lab suites (their own labs, names and subnets) rather than after them; one at a time
// among themselves, since the image build and the docker suite share the image's data root.
const BESIDE = ['test/lab/image-build.test.mjs', 'test/lab/docker-runtime.test.mjs', 'test/lab/backup-restore.test.mjs']
const LAB_TIMEOUTS = { testTimeout: 180_000, hookTimeout: 240_000 }

export default defineConfig({
  test: {
    projects: [
      // Offline: inventories, rendered files, plans, option parsing.
      { test: { name: 'unit', include: ['test/unit/*.test.mjs'], testTimeout: 60_000 } },
      {
        test: {
          name: 'lab',
          include: ['test/lab/*.test.mjs'],
          exclude: BESIDE,
          // Lab suites each own a lab (distinct name and subnet) but share 2 cores: one file at
          // a time keeps failover timings meaningful.
          fileParallelism: false,
          ...LAB_TIMEOUTS,
        },
      },
      { test: { name: 'lab-beside', include: BESIDE, fileParallelism: false, ...LAB_TIMEOUTS } },
    ],
  },
})
