import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { simulate } from '../../src/simulate/simulate.js';
import { DEFAULT_TRAFFIC } from '../../src/simulate/traffic.js';

// Power on traffic the comparison does not model (requests drawn one by one and routed to pods, stable's pods' spread
// read from a day of history), through the real state machine and analysis: the bench's model, not the test's.

const spec = rolloutSpecSchema.parse({
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
});
const RUNS = 400;

describe('detection power on the simulated traffic', () => {
  it('rolls back a canary at 5× stable’s error rate (0.5% against 0.1%) in at least 75% of rollouts', () => {
    const summary = simulate(spec, {
      traffic: { ...DEFAULT_TRAFFIC, canaryErrorRate: 5 * DEFAULT_TRAFFIC.stableErrorRate },
      runs: RUNS,
      seed: 105,
    });
    // 400 runs: at a true 80% the count falls below 75% with probability about 0.6%.
    expect(summary.rolledBack / RUNS).toBeGreaterThanOrEqual(0.75);
  }, 120_000);

  it('still promotes a canary as good as stable in the step minimums', () => {
    const summary = simulate(spec, { traffic: DEFAULT_TRAFFIC, runs: RUNS, seed: 106 });
    expect(summary.promoted).toBeGreaterThanOrEqual(RUNS - 4);
    expect(summary.secondsToPromote?.p50).toBe(240);
  }, 120_000);
});
