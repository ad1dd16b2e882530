import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The cluster tier has its own config (vitest.cluster.config.ts, `npm run test:cluster`).
    exclude: [...configDefaults.exclude, 'test/cluster/**'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // End-to-end files start real processes (Prometheus, the controller); two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
