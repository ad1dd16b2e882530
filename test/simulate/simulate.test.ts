import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { rolloutSpecSchema, type RolloutSpecInput } from '../../src/api/schema.js';
import { InvalidRolloutFile, loadRolloutSpec } from '../../src/simulate/load.js';
import { histogramQuantile, ScrapedArm } from '../../src/simulate/scrapes.js';
import { simulate } from '../../src/simulate/simulate.js';
import { DEFAULT_TRAFFIC, type TrafficModel } from '../../src/simulate/traffic.js';

const routing: Pick<RolloutSpecInput, 'targetRef' | 'trafficRouting'> = {
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
};
const defaults = rolloutSpecSchema.parse(routing);
const traffic = (overrides: Partial<TrafficModel> = {}): TrafficModel => ({
  ...DEFAULT_TRAFFIC,
  ...overrides,
});

describe('stepwise simulate', () => {
  it('gives the same summary for the same seed and a different one for another seed', () => {
    const options = { traffic: traffic({ canaryErrorRate: 0.01 }), runs: 30 };
    const a = simulate(defaults, { ...options, seed: 7 });
    expect(simulate(defaults, { ...options, seed: 7 })).toEqual(a);
    expect(simulate(defaults, { ...options, seed: 8 })).not.toEqual(a);
  });

  it('promotes a canary as good as stable after the four one-minute steps, and rolls back one with 5% errors', () => {
    const good = simulate(defaults, { traffic: traffic(), runs: 200, seed: 1 });
    expect(good.promoted).toBeGreaterThanOrEqual(195);
    expect(good.rolledBack + good.promoted + good.undecided).toBe(200);
    // Every step lasts at least its minimum duration.
    expect(good.secondsToPromote!.p50).toBeGreaterThanOrEqual(4 * 60);
    expect(good.canaryRequests.mean).toBeGreaterThan(100 * 60 * (0.05 + 0.25 + 0.5 + 1) * 0.9);

    const bad = simulate(defaults, { traffic: traffic({ canaryErrorRate: 0.05 }), runs: 200, seed: 1 });
    expect(bad.rolledBack).toBe(200);
    // Nearly always within the first, 5% step; never past the second.
    expect(bad.secondsToRollback!.p95).toBeLessThanOrEqual(60);
    expect(bad.secondsToRollback!.max).toBeLessThanOrEqual(120);
    expect(bad.rollbackReasons.some((r) => r.reason.includes('canary 5xx rate is'))).toBe(true);
  });

  it('takes each step up as soon as its pods are ready (their Deployment’s watch event wakes the controller)', () => {
    // Scaling the canary up for the 50% step takes 2 pods; each new pod is ready 30 s after it was asked for.
    const good = simulate(defaults, { traffic: traffic(), runs: 20, seed: 2, podReadySeconds: 30 });
    expect(good.promoted).toBe(20);
    // Four one-minute steps, and one wait of 30 s for each pod start (the first pod and the scale-up to two).
    expect(good.secondsToPromote!.max).toBeLessThanOrEqual(4 * 60 + 2 * 30 + 30);
    const slowPods = simulate(defaults, {
      traffic: traffic({ canaryErrorRate: 0.05 }),
      runs: 20,
      seed: 2,
      podReadySeconds: 120,
    });
    expect(slowPods.rolledBack).toBe(20);
    expect(slowPods.secondsToRollback!.max).toBeLessThanOrEqual(120 + 60);
  });

  it('misses a 5x worse canary with thresholds alone more often than with the comparison', () => {
    const thresholdsOnly = rolloutSpecSchema.parse({
      ...routing,
      analysis: { comparison: { enabled: false } },
    });
    const options = { traffic: traffic({ canaryErrorRate: 0.005 }), runs: 100, seed: 3 };
    const without = simulate(thresholdsOnly, options);
    const withComparison = simulate(defaults, options);
    expect(without.rolledBack).toBeLessThan(withComparison.rolledBack);
    expect(withComparison.failedCanaryRequests.mean).toBeLessThan(without.failedCanaryRequests.mean);
  });

  it('lets the analysis see metrics only at scrape times', () => {
    const options = { traffic: traffic({ canaryLatencyFactor: 3 }), runs: 50, seed: 5 };
    const everySecond = simulate(defaults, options);
    const everyMinute = simulate(defaults, {
      ...options,
      traffic: { ...options.traffic, scrapeIntervalSeconds: 60 },
    });
    expect(everySecond.secondsToRollback!.p50).toBeLessThan(everyMinute.secondsToRollback!.p50);
  });
});

describe('the simulated Prometheus', () => {
  it("reads a step window as the analysis' query does: exact growth between the bracketing scrapes", () => {
    const arm = new ScrapedArm(2);
    // 10 requests per second, all fast, scraped every 10 s from t = 100.
    for (let t = 100; t <= 160; t += 10) {
      if (t > 100)
        arm.serve({
          pods: [{ requests: 100, errors: 10, buckets: [100, 0] }],
          callers: { requests: 100, errors: 10 },
        });
      arm.scrape(t);
    }
    // Window [103, 157]: the scrapes at or before its edges are 100 and 150, so 500 requests grew in it.
    const growth = arm.growth(103, 157)!;
    expect(growth.requests).toBe(500);
    expect(growth.errors).toBe(50);
    // No scrape since the window started: nothing grew.
    expect(arm.growth(151, 155)!.requests).toBe(0);
    // Before the first scrape there is no series: an empty result.
    expect(arm.growth(50, 90)).toBeUndefined();
  });

  it('interpolates histogram_quantile inside the bucket holding the rank', () => {
    // 100 requests: 90 at or below 50 ms, 98 at or below 100 ms, all at or below 250 ms.
    expect(histogramQuantile(0.99, [50, 100, 250], [90, 98, 100, 100])).toBeCloseTo(100 + 150 * 0.5, 9);
    // A rank in the +Inf bucket gives the largest finite edge.
    expect(histogramQuantile(0.99, [50, 100], [90, 95, 100])).toBe(100);
    expect(histogramQuantile(0.99, [50], [0, 0])).toBeNaN();
  });
});

describe('loading the Rollout file', () => {
  it('loads the example Rollout', async () => {
    const spec = await loadRolloutSpec('rollouts/product-service/rollout.yaml');
    expect(spec.steps.length).toBeGreaterThan(0);
  });

  it('names the file and each wrong field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepwise-simulate-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'rollout.yaml');
    await writeFile(
      file,
      'apiVersion: stepwise.dev/v1alpha1\nkind: Rollout\nmetadata: {name: app}\nspec:\n  targetRef: {name: app}\n  steps: [{weight: 500}]\n',
    );
    const error = await loadRolloutSpec(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRolloutFile);
    const lines = (error as InvalidRolloutFile).lines;
    expect(lines).toContain(
      `${file}: spec.steps[0].weight: 500 is above the maximum 100; use a smaller value`,
    );
    expect(lines.some((line) => line.startsWith(`${file}: spec.trafficRouting:`))).toBe(true);
  });
});
