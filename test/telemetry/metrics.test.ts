import { Counter, Gauge } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
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

    metrics.forget('shop', 'cart');

    expect(await seriesOf(metrics, 'shop', 'cart')).toEqual([]);
    expect(await seriesOf(metrics, 'shop', 'checkout')).toHaveLength(before.length);
    expect(await seriesOf(metrics, 'other', 'cart')).toHaveLength(before.length);
  });

  it('forgets a Rollout without listing every series (deleting 10,000 Rollouts must not take 10,000 listings each)', async () => {
    const metrics = new ControllerMetrics();
    const progressing: Decision = { ...rolledBack, status: { ...rolledBack.status, phase: 'Progressing' } };
    const check = { verdict: 'pass' as const, metrics: {}, failures: [], inconclusive: [] };
    metrics.record(rollout('shop', 'cart'), progressing, check);
    metrics.record(rollout('shop', 'cart'), rolledBack, { ...check, verdict: 'fail' });
    metrics.record(rollout('shop', 'checkout'), rolledBack, check);
    const gaugeReads = vi.spyOn(Gauge.prototype, 'get');
    const counterReads = vi.spyOn(Counter.prototype, 'get');
    try {
      metrics.forget('shop', 'cart');
      expect(gaugeReads).not.toHaveBeenCalled();
      expect(counterReads).not.toHaveBeenCalled();
    } finally {
      gaugeReads.mockRestore();
      counterReads.mockRestore();
    }
    // Both verdicts, the phase it left and the one it was in: nothing of it stays.
    expect(await seriesOf(metrics, 'shop', 'cart')).toEqual([]);
    expect(await seriesOf(metrics, 'shop', 'checkout')).not.toEqual([]);
    metrics.forget('shop', 'cart'); // a second deletion event is harmless
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
