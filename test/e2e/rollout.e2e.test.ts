// Issue "Sandbox and end-to-end": a good release, a release with 5% errors and a slow release, one after
// another on the same service, with the thresholds as the only guard (the comparison has its own test).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { behaviourFromImageTag } from '../../sandbox/mesh/index.js';
import { APP, IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

// The shared example (test/sandbox/fixtures holds a copy; test/examples checks rollouts/ applies the same).
const exampleVirtualService = parseAllDocuments(
  readFileSync(new URL('../sandbox/fixtures/istio-product-service.yaml', import.meta.url), 'utf8'),
)[0]!.toJS() as { spec: { http: { route: { weight?: number }[] }[] } };

/** The VirtualService spec with the weighted route's weights blanked: all Stepwise may change. */
function withoutWeights(spec: unknown): unknown {
  const copy = structuredClone(spec) as { http: { route: { weight?: number }[] }[] };
  for (const destination of copy.http[1]!.route) delete destination.weight;
  return copy;
}

describe.skipIf(!prometheusInstalled)('rollouts on the sandbox, end to end', () => {
  let e2e: E2E;

  beforeAll(async () => {
    e2e = await startE2E({
      // The 30 s rollback bound is statistical: the canary must show enough errors for the 99% Wilson bound to
      // clear 1%. At 50 requests/s a 5% canary sees about 250 requests in 30 s, and about 3% of runs stay below
      // the bound that long; at 200/s it sees about 1,000 and the chance is below one in a million.
      rps: 200,
      analysis: {
        interval: '2s',
        stepDuration: '6s',
        minRequests: 20,
        comparison: { enabled: false },
        thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
      },
      mesh: {
        // "slow" images: P99 three times the 500 ms limit.
        behaviour: (image) =>
          image.includes('slow')
            ? { errorRate: 0.001, latencyMs: { p50: 80, p99: 1500 } }
            : behaviourFromImageTag(image),
      },
    });
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  it('promotes a good canary through 5 → 25 → 50 → 100', async () => {
    await e2e.release(`${IMAGE}:1.1.0`);
    await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
    const status = await e2e.waitFor('promotion', settled, 120_000);
    expect(status.phase).toBe('Succeeded');
    await e2e.meshRoutesCanaryWeight(0);
    expect(e2e.canaryWeights().map((w) => w.weight)).toEqual([10, 0, 5, 25, 50, 100, 0]);

    const stable = await e2e.deployment(`${APP}-stable`);
    expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(`${IMAGE}:1.1.0`);
    expect((await e2e.deployment(`${APP}-canary`))?.spec?.replicas).toBe(0);
    expect((await e2e.deployment(APP))?.spec?.replicas).toBe(0);
    const vs = (await e2e.virtualService()) as typeof exampleVirtualService;
    expect(vs.spec.http[1]!.route.map((d) => d.weight)).toEqual([100, 0]);
  }, 150_000);

  it('left the VirtualService as written apart from the two weights', async () => {
    const vs = (await e2e.virtualService()) as typeof exampleVirtualService;
    expect(withoutWeights(vs.spec)).toEqual(withoutWeights(exampleVirtualService.spec));
  });

  it('sent requests with x-canary: "true" only to the canary', () => {
    const tagged = e2e.stack.mesh.stats().filter((s) => s.withHeaders);
    expect(tagged.some((s) => s.workload === `${APP}-canary` && s.requests > 0)).toBe(true);
    expect(tagged.filter((s) => s.workload === `${APP}-stable`)).toEqual([]);
  });

  it('rolls back a canary with 5% errors within 30 s of its first traffic, naming the error rate and the limit', async () => {
    const releasedAt = await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
    await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
    const status = await e2e.waitFor('rollback', settled, 90_000);
    expect(status.phase).toBe('RolledBack');
    expect(status.reason).toBe('ErrorRate');
    expect(status.message).toMatch(/canary error rate [\d.]+% .*is above the limit 1%/);
    expect(status.message).toMatch(/^step \d\/4 \(weight \d+%\): /);

    await e2e.meshRoutesCanaryWeight(0);
    const weights = e2e.canaryWeights().filter((w) => w.at >= releasedAt);
    expect(weights.at(-1)!.weight).toBe(0);
    const firstTraffic = weights[0]!;
    const backToStable = weights.at(-1)!;
    expect(firstTraffic.weight).toBe(5);
    expect(backToStable.at - firstTraffic.at).toBeLessThan(30_000);
    expect((await e2e.deployment(`${APP}-canary`))?.spec?.replicas).toBe(0);
    expect((await e2e.deployment(`${APP}-stable`))?.spec?.template.spec?.containers[0]?.image).toBe(
      `${IMAGE}:1.1.0`,
    );
  }, 120_000);

  it('rolls back a canary whose P99 is three times the limit, naming P99', async () => {
    await e2e.release(`${IMAGE}:1.3.0-slow`);
    const status = await e2e.waitFor(
      'rollback of the slow canary',
      (s) =>
        s.canaryRevision !== undefined &&
        s.rolledBackRevision === s.canaryRevision &&
        s.reason === 'P99Latency',
      90_000,
    );
    expect(status.phase).toBe('RolledBack');
    expect(status.message).toMatch(/canary P99 latency \d+ ms is above the limit 500 ms/);
  }, 120_000);
});
