// The controller's /metrics during a rollout on the sandbox: every listed series is there, and the per-Rollout
// values are the ones the Rollout's status shows.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { APP, IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format -> samples (enough of it for prom-client's output). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const one = (samples: Sample[], name: string, labels: Record<string, string> = {}) => {
  const found = find(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
};

describe.skipIf(!prometheusInstalled)('/metrics of the controller during a rollout', () => {
  let e2e: E2E;
  let rollout: Record<string, string>;

  const scrape = async () => {
    const response = await fetch(`${await e2e.controller.metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    return parseMetrics(await response.text());
  };

  /** The Rollout's metrics as they stand next to its status, read while the status did not change. */
  const metricsAndStatus = async (): Promise<{ samples: Sample[]; status: RolloutStatus }> => {
    let last: { samples: Sample[]; status: RolloutStatus } | undefined;
    // A pass may land between the reads: look again until status was the same before and after the scrape
    // and the pass that wrote it has also recorded its metrics.
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = await e2e.status();
      const samples = await scrape();
      const after = await e2e.status();
      last = { samples, status: after };
      if (JSON.stringify(before) === JSON.stringify(after) && matches(samples, after)) return last;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    return last!;
  };

  const matches = (samples: Sample[], s: RolloutStatus) => {
    try {
      expectMetricsOf(samples, s);
      return true;
    } catch {
      return false;
    }
  };

  const expectMetricsOf = (samples: Sample[], s: RolloutStatus) => {
    expect(
      find(samples, 'stepwise_rollout_phase', { ...rollout, phase: s.phase! }).map((x) => x.value),
    ).toEqual([1]);
    expect(find(samples, 'stepwise_rollout_phase', rollout).filter((x) => x.value === 1)).toHaveLength(1);
    expect(one(samples, 'stepwise_rollout_step', rollout)).toBe(s.currentStep ?? 0);
    expect(one(samples, 'stepwise_rollout_canary_weight', rollout)).toBe(s.canaryWeight ?? 0);
    const values: [string, number | undefined][] = [
      ['requests', s.analysis?.requests],
      ['error_rate', s.analysis?.errorRate],
      ['p99_ms', s.analysis?.p99Ms],
      ['evidence', s.analysis?.evidence],
    ];
    for (const [value, expected] of values) {
      const found = find(samples, 'stepwise_rollout_analysis_value', { ...rollout, value }).map(
        (x) => x.value,
      );
      expect(found, value).toEqual(expected === undefined ? [] : [expected]);
    }
  };

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: { interval: '2s', stepDuration: '4s', minRequests: 20 },
      steps: [{ weight: 20 }, { weight: 50, pause: true }, { weight: 100 }],
    });
    rollout = { namespace: e2e.namespace, rollout: APP };
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('shows phase, step, weight and the last analysis values and evidence the status shows, at a gate', async () => {
    await e2e.release(`${IMAGE}:1.1.0`);
    await e2e.waitFor('the gate at step 2', (s) => s.phase === 'Paused' && s.reason === 'Gate', 90_000);
    const { samples, status } = await metricsAndStatus();
    expect(status.phase).toBe('Paused');
    expect(status.analysis?.evidence).toBeDefined();
    expectMetricsOf(samples, status);
    expect(one(samples, 'stepwise_decisions_total', { ...rollout, reason: 'StepPassed' })).toBe(1);
    expect(one(samples, 'stepwise_decisions_total', { ...rollout, reason: 'Gate' })).toBe(1);
    expect(one(samples, 'stepwise_analysis_checks_total', { ...rollout, verdict: 'pass' })).toBeGreaterThan(
      0,
    );

    // The controller's own health: passes timed, Kubernetes and Prometheus calls counted by outcome.
    expect(one(samples, 'stepwise_leader')).toBe(1);
    expect(one(samples, 'stepwise_reconcile_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(
      find(samples, 'stepwise_reconcile_duration_seconds_bucket', { outcome: 'ok', le: '+Inf' }),
    ).toHaveLength(1);
    const statusWrites = { verb: 'patch', resource: 'rollouts/status', code: '200' };
    expect(one(samples, 'stepwise_kubernetes_requests_total', statusWrites)).toBeGreaterThan(0);
    expect(
      one(samples, 'stepwise_kubernetes_requests_total', { verb: 'list', resource: 'rollouts', code: '200' }),
    ).toBeGreaterThan(0);
    expect(one(samples, 'stepwise_prometheus_queries_total', { outcome: 'ok' })).toBeGreaterThan(0);
  }, 150_000);

  it('counts a 500 from the API server under its code', async () => {
    // Passes read the watch caches; the status writes of the checks at the gate still reach the API server.
    e2e.stack.api.faults.failNext(1, 500, { verb: 'patch', resource: 'rollouts', subresource: 'status' });
    let count = 0;
    const deadline = Date.now() + 20_000;
    while (count === 0 && Date.now() < deadline) {
      count = find(await scrape(), 'stepwise_kubernetes_requests_total', {
        verb: 'patch',
        resource: 'rollouts/status',
        code: '500',
      })
        .map((x) => x.value)
        .reduce((a, b) => a + b, 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(count).toBe(1);
  }, 30_000);

  it('counts list and watch requests, and a refused watch under its code', async () => {
    const total = (samples: Sample[], labels: Record<string, string>) =>
      find(samples, 'stepwise_kubernetes_requests_total', { resource: 'rollouts', ...labels })
        .map((x) => x.value)
        .reduce((a, b) => a + b, 0);
    const before = await scrape();
    expect(total(before, { verb: 'list', code: '200' })).toBeGreaterThan(0);
    expect(total(before, { verb: 'watch', code: '200' })).toBeGreaterThan(0);

    // The server ends the Rollout watch; the controller's next watch request is refused, then it relists.
    e2e.stack.api.faults.failNext(1, 500, { verb: 'watch', resource: 'rollouts' });
    expect(e2e.stack.api.faults.dropWatches({ resource: 'rollouts' })).toBeGreaterThan(0);
    const deadline = Date.now() + 20_000;
    let after = await scrape();
    while (
      total(after, { verb: 'watch', code: '200' }) <= total(before, { verb: 'watch', code: '200' }) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      after = await scrape();
    }
    expect(total(after, { verb: 'watch', code: '500' })).toBe(1);
    expect(total(after, { verb: 'list', code: '200' })).toBeGreaterThan(
      total(before, { verb: 'list', code: '200' }),
    );
    expect(total(after, { verb: 'watch', code: '200' })).toBeGreaterThan(
      total(before, { verb: 'watch', code: '200' }),
    );
  }, 30_000);

  it('shows the promotion, then a rollback with its reason, as the status does', async () => {
    const custom = e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObject(
      {
        group: 'stepwise.dev',
        version: 'v1alpha1',
        plural: 'rollouts',
        namespace: e2e.namespace,
        name: APP,
        body: {
          metadata: { annotations: { 'stepwise.dev/command': 'promote', 'stepwise.dev/command-id': 'm1' } },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect((await e2e.waitFor('promotion', settled, 90_000)).phase).toBe('Succeeded');
    let { samples, status } = await metricsAndStatus();
    expectMetricsOf(samples, status);
    expect(one(samples, 'stepwise_decisions_total', { ...rollout, reason: 'Promoted' })).toBe(1);

    await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
    await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
    expect((await e2e.waitFor('rollback', settled, 90_000)).phase).toBe('RolledBack');
    ({ samples, status } = await metricsAndStatus());
    expectMetricsOf(samples, status);
    // The threshold or the comparison with stable, whichever saw the 5% errors first.
    expect(['ErrorRate', 'CanaryWorseThanStable']).toContain(status.reason);
    expect(find(samples, 'stepwise_rollbacks_total', rollout).map((x) => [x.labels.reason, x.value])).toEqual(
      [[status.reason, 1]],
    );
  }, 180_000);
});
