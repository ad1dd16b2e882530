import { defineConfig } from 'vitest/config';

// `npm run test:cluster`: the end-to-end scenarios and the API contract on a real control plane
// (tools/build.sh builds it). Not part of `npm test`.
export default defineConfig({
  test: {
    include: [
      'test/cluster/**/*.test.ts',
      'test/contract/**/*.test.ts',
      // The e2e scenarios that need no sandbox-only fault injection; the harness gives them a real control plane.
      'test/e2e/rollout.e2e.test.ts',
      'test/e2e/commands.e2e.test.ts',
      'test/e2e/resilience.e2e.test.ts',
    ],
    globalSetup: ['test/cluster/global-setup.ts'],
    env: { STEPWISE_TEST_TIER: 'cluster' },
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Each file starts its own control plane; one at a time on two cores.
    fileParallelism: false,
  },
});
