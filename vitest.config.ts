import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // e2e files each start their own local runtime on free ports; two cores are plenty.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
