import { describe, expect, it } from 'vitest';
import type { RolloutObject } from '../../src/kube/cluster.js';
import type { Decision } from '../../src/rollout/types.js';
import { ControllerMetrics } from '../../src/telemetry/metrics.js';

const rollout = (namespace: string, name: string): RolloutObject => ({
  apiVersion: 'stepwise.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { namespace, name },
  status: { phase: 'Progressing', currentStep: 1, canaryWeight: 5 },
});

const rolledBack: Decision = {
  status: {
    phase: 'RolledBack',
    reason: 'ErrorRate',
    message: 'error rate 20% above 1%',
    currentStep: 1,
    canaryWeight: 0,
    analysis: {
      checks: 3,
      failed: 2,
      inconclusive: 0,
      consecutiveInconclusive: 0,
      requests: 120,
      errorRate: 0.2,
      p99Ms: 80,
      evidence: 500,
    },
  },
  actions: [],
  announcements: [{ type: 'Warning', reason: 'ErrorRate', message: 'error rate 20% above 1%' }],
  moves: [],
};

/** The series of /metrics that name this Rollout. */
async function seriesOf(metrics: ControllerMetrics, namespace: string, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.includes(`namespace="${namespace}"`) && line.includes(`rollout="${name}"`));
}

describe('controller metrics', () => {
  it('removes every series of a deleted Rollout and keeps the others', async () => {
    const metrics = new ControllerMetrics();
    const check = { verdict: 'fail' as const, metrics: {}, failures: [], inconclusive: [] };
    metrics.record(rollout('shop', 'cart'), rolledBack, check);
    metrics.record(rollout('shop', 'checkout'), rolledBack, check);
    metrics.record(rollout('other', 'cart'), rolledBack, check);
    const before = await seriesOf(metrics, 'shop', 'cart');
    // phase (one per phase), weight, step, four analysis values, a check, a decision, a rollback.
    expect(before.some((l) => l.startsWith('stepwise_rollout_phase{'))).toBe(true);
    expect(before.some((l) => l.startsWith('stepwise_rollbacks_total{'))).toBe(true);
    expect(before.some((l) => l.startsWith('stepwise_analysis_checks_total{'))).toBe(true);

    await metrics.forget('shop', 'cart');

    expect(await seriesOf(metrics, 'shop', 'cart')).toEqual([]);
    expect(await seriesOf(metrics, 'shop', 'checkout')).toHaveLength(before.length);
    expect(await seriesOf(metrics, 'other', 'cart')).toHaveLength(before.length);
  });

  it("keeps one phase series per Rollout, at 1, moved to the new phase's label when the phase changes", async () => {
    const metrics = new ControllerMetrics();
    const phaseLines = async () =>
      (await seriesOf(metrics, 'shop', 'cart')).filter((l) => l.startsWith('stepwise_rollout_phase{'));
    metrics.record(rollout('shop', 'cart'), { ...rolledBack, status: { phase: 'Progressing' } }, undefined);
    expect(await phaseLines()).toEqual([
      'stepwise_rollout_phase{namespace="shop",rollout="cart",phase="Progressing"} 1',
    ]);
    metrics.record(rollout('shop', 'cart'), rolledBack, undefined);
    expect(await phaseLines()).toEqual([
      `stepwise_rollout_phase{namespace="shop",rollout="cart",phase="${rolledBack.status.phase}"} 1`,
    ]);
  });
});
