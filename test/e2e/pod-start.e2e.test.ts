// Canary pods that take seconds to start: while the pods of the next step start, the canary keeps the weight it
// has and the controller goes on checking it, through the real analyzer and Prometheus, from the weight's own
// start (status.heldWeightSince); the weight goes up once the pods are ready and a check passed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

const POD_START_MS = 8_000;

describe.skipIf(!prometheusInstalled)('a step whose canary pods take seconds to start', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      podReadyDelayMs: POD_START_MS,
      rps: 100,
      analysis: { interval: '1s', stepDuration: '5s', minRequests: 20 },
      // 4 replicas: 1 canary pod at 25%, 2 at 50% (a scale-up to wait for), 4 at 100%.
      steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
    });
    await e2e.adopted();
  }, 120_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('checks the canary at the weight it has while they start, and raises it once they are ready', async () => {
    await e2e.release(`${IMAGE}:5.0.0`);
    await e2e.waitFor(
      'step 2, its pods starting',
      (s) => s.currentStep === 2 && s.canaryWeight === 25,
      60_000,
    );
    const meanwhile: RolloutStatus[] = [];
    const raised = await e2e.waitFor(
      'the weight of step 2',
      (s) => {
        if (s.currentStep === 2 && s.canaryWeight === 25) meanwhile.push(s);
        return s.canaryWeight === 50;
      },
      60_000,
    );
    expect(raised.heldWeightSince).toBeUndefined();
    const first = meanwhile[0]!;
    const last = meanwhile.at(-1)!;
    expect(first.heldWeightSince).toBeDefined();
    expect(first.stepStartedAt).toBeUndefined();
    expect(first.message).toMatch(/^step 2\/3 \(weight 50%; the canary still at 25%\): /);
    // Checks went on while the pods started (8 s, a check a second), and they judged the canary: they passed.
    expect(last.analysis!.checks - first.analysis!.checks).toBeGreaterThanOrEqual(3);
    expect(last.analysis!.lastVerdict).toBe('pass');
    expect(last.analysis!.lastCheckAt! > last.heldWeightSince!).toBe(true);

    const status = await e2e.waitFor('promotion', settled, 120_000);
    expect(status.phase).toBe('Succeeded');
  }, 240_000);
});
