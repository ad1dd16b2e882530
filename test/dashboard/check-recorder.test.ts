import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { CheckRecorder, KEPT_PER_ROLLOUT } from '../../src/dashboard/check-recorder.js';

const rollout = (status: RolloutStatus): RolloutObject => ({
  apiVersion: 'stepwise.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'app', namespace: 'prod' },
  status,
});
const checkAt = (second: number, errorRate: number): RolloutStatus => ({
  phase: 'Progressing',
  currentStep: 1,
  canaryWeight: 5,
  analysis: {
    checks: second,
    failed: 0,
    inconclusive: 0,
    consecutiveInconclusive: 0,
    lastCheckAt: new Date(second * 1000).toISOString(),
    lastVerdict: 'pass',
    errorRate,
  },
});

describe('the checks the dashboard remembers', () => {
  it('keeps every check once, however often the same status is seen', () => {
    const recorder = new CheckRecorder();
    expect(recorder.observe([rollout(checkAt(1, 0.01))])).toHaveLength(1);
    expect(recorder.observe([rollout(checkAt(1, 0.01))])).toHaveLength(0);
    recorder.observe([rollout(checkAt(2, 0.02))]);
    expect(recorder.checks('prod', 'app').map((c) => c.errorRate)).toEqual([0.01, 0.02]);
  });

  it('records the weight each time it or the phase changes', () => {
    const recorder = new CheckRecorder();
    recorder.observe([rollout({ phase: 'Healthy', canaryWeight: 0 })]);
    recorder.observe([rollout({ phase: 'Healthy', canaryWeight: 0 })]);
    recorder.observe([rollout({ phase: 'Progressing', canaryWeight: 5 })]);
    recorder.observe([rollout({ phase: 'RolledBack', canaryWeight: 0 })]);
    expect(recorder.weights('prod', 'app').map((w) => [w.phase, w.weight])).toEqual([
      ['Healthy', 0],
      ['Progressing', 5],
      ['RolledBack', 0],
    ]);
  });

  it(`keeps only the last ${KEPT_PER_ROLLOUT} checks of a Rollout`, () => {
    const recorder = new CheckRecorder();
    for (let second = 1; second <= KEPT_PER_ROLLOUT + 5; second++)
      recorder.observe([rollout(checkAt(second, 0))]);
    const checks = recorder.checks('prod', 'app');
    expect(checks).toHaveLength(KEPT_PER_ROLLOUT);
    expect(checks[0]?.at).toBe(new Date(6000).toISOString());
  });
});
