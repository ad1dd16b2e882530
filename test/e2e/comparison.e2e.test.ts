// Issue "Decide in seconds": with the comparison against stable (on by default) and a 1 s scrape, a canary
// answering 5% errors at 50 rps is rolled back on the evidence alone, in seconds; a good one is promoted.
// How many seconds, over many releases, is measured by bench/sandbox-rollback.ts (tests assert behaviour).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

describe.skipIf(!prometheusInstalled)('the comparison against stable, end to end', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      // The thresholds are set out of reach so that only the comparison can roll back here.
      analysis: { interval: '1s', stepDuration: '8s', minRequests: 20, thresholds: { maxErrorRate: 0.5 } },
      // At 50 rps the evidence grows fastest when the canary has a sizeable share of the requests: each error
      // is worth ln(1/share), and errors come in proportion to the share.
      steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
    });
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('promotes a canary as good as stable', async () => {
    await e2e.release(`${IMAGE}:4.0.0`);
    await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
    const status = await e2e.waitFor('promotion', settled, 120_000);
    expect(status.phase).toBe('Succeeded');
    expect(status.analysis?.evidence).toBeLessThan(100);
  }, 150_000);

  it('rolls back a canary with 5% errors on the evidence, before it gets full traffic', async () => {
    await e2e.canaryScaledDown();
    const firstRequest = await e2e.releaseUntilCanaryServes(`${IMAGE}:4.1.0-bad-errors`);
    await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
    const status = await e2e.waitFor('rollback', settled, 90_000);
    expect(status).toMatchObject({ phase: 'RolledBack', reason: 'CanaryWorseThanStable' });
    expect(status.message).toMatch(/canary 5xx rate is /);
    expect(status.analysis?.evidence).toBeGreaterThanOrEqual(100);

    await e2e.meshRoutesCanaryWeight(0);
    const weights = e2e.canaryWeights().filter((w) => w.at >= firstRequest);
    const backToStable = weights.at(-1)!;
    expect(backToStable.weight).toBe(0);
    expect(weights.map((w) => w.weight)).not.toContain(100);
    // Seconds, not minutes. The distribution over many releases is in bench/results/sandbox-rollback.md (comparison
    // only, steps 25/50/100, interval 1s: all of 20 runs within 15 s of the canary's first request); the bound here
    // leaves room for a loaded CI machine.
    expect(backToStable.at - firstRequest).toBeLessThan(45_000);
  }, 120_000);
});
