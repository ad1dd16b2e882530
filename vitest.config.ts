import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // End-to-end files start real processes (Prometheus, the controller); two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
