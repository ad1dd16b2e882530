// No data is not good data: with Prometheus gone mid-analysis nothing is promoted; `hold` waits and
// continues when it is back, `rollback` rolls back after inconclusiveLimit checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!prometheusInstalled)('Prometheus stopped in the middle of an analysis', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: {
        interval: '2s',
        stepDuration: '8s',
        minRequests: 20,
        comparison: { enabled: false },
        onInconclusive: 'hold',
        inconclusiveLimit: 3,
      },
    });
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('holds without promoting while Prometheus is down, and continues when it is back (hold)', async () => {
    await e2e.release(`${IMAGE}:3.0.0`);
    await e2e.waitFor(
      'a passed check in step 1',
      (s) => s.currentStep === 1 && s.analysis?.lastVerdict === 'pass',
    );
    await e2e.stack.prometheus.stop();
    const held = await e2e.waitFor('the hold', (s) => s.phase === 'Paused', 30_000);
    expect(held.reason).toBe('Inconclusive');
    expect(held.message).toMatch(/Prometheus unreachable/);

    await sleep(10_000); // longer than the step's duration: still nothing may be promoted
    const still = await e2e.status();
    expect(still).toMatchObject({
      phase: 'Paused',
      currentStep: held.currentStep,
      canaryWeight: held.canaryWeight,
    });
    expect(e2e.canaryWeights().at(-1)?.weight).toBe(held.canaryWeight);

    await e2e.stack.prometheus.start();
    const done = await e2e.waitFor('promotion once Prometheus is back', settled, 120_000);
    expect(done.phase).toBe('Succeeded');
  }, 180_000);

  it('rolls back after inconclusiveLimit checks while Prometheus is down (rollback)', async () => {
    await e2e.patchRolloutSpec({
      analysis: {
        prometheus: { address: e2e.stack.prometheus.url },
        interval: '2s',
        stepDuration: '8s',
        minRequests: 20,
        comparison: { enabled: false },
        onInconclusive: 'rollback',
        inconclusiveLimit: 3,
      },
    });
    await e2e.release(`${IMAGE}:3.1.0`);
    await e2e.waitFor(
      'a passed check',
      (s) => s.phase === 'Progressing' && s.analysis?.lastVerdict === 'pass',
    );
    await e2e.stack.prometheus.stop();
    const status = await e2e.waitFor('the rollback', settled, 60_000);
    await e2e.stack.prometheus.start();
    expect(status).toMatchObject({ phase: 'RolledBack', reason: 'Inconclusive' });
    expect(status.analysis?.consecutiveInconclusive).toBe(3);
    expect(status.message).toContain('3 inconclusive checks in a row');
  }, 120_000);
});
