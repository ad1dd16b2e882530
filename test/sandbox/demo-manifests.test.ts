import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/api/validate.js';
import { DEMO_TIMING, adjustForDemo } from '../../sandbox/demo/manifests.js';
import { readManifests } from '../../sandbox/stack.js';

const folder = fileURLToPath(new URL('../../rollouts/product-service/', import.meta.url));

describe('adjustForDemo', () => {
  const original = readManifests(folder);
  const adjusted = adjustForDemo(original, {
    prometheusAddress: 'http://127.0.0.1:9999',
    timing: DEMO_TIMING,
  });

  it('shortens the Rollout analysis and points it at the sandbox Prometheus', () => {
    const rollout = adjusted.find((m) => m.kind === 'Rollout') as {
      spec: { analysis: Record<string, unknown> };
    };
    expect(rollout.spec.analysis).toMatchObject({
      prometheus: { address: 'http://127.0.0.1:9999' },
      interval: '2s',
      stepDuration: '8s',
      minRequests: 20,
    });
    // The thresholds of the example stay as written.
    expect(rollout.spec.analysis.thresholds).toEqual({ maxErrorRate: 0.01, maxP99LatencyMs: 500 });
  });

  it('leaves every other object and the files on disk untouched', () => {
    expect(adjusted.filter((m) => m.kind !== 'Rollout')).toEqual(
      original.filter((m) => m.kind !== 'Rollout'),
    );
    expect(readManifests(folder)).toEqual(original);
  });

  it('gives a Rollout the controller accepts', () => {
    const rollout = adjusted.find((m) => m.kind === 'Rollout') as { spec: unknown };
    const result = validateSpec(rollout.spec);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('refuses a folder without exactly one Rollout', () => {
    const withoutRollout = original.filter((m) => m.kind !== 'Rollout');
    expect(() =>
      adjustForDemo(withoutRollout, { prometheusAddress: 'http://x', timing: DEMO_TIMING }),
    ).toThrow(/exactly one Rollout/);
  });
});
