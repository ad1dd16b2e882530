import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { simulate } from '../../src/simulate/simulate.js';
import { DEFAULT_TRAFFIC, type TrafficModel } from '../../src/simulate/traffic.js';

// A/A on traffic the test does not model: requests drawn one by one, Istio's retries sent to other pods of the same
// subset and each attempt reported by the server sidecar, a dependency failing for 30 s on both tracks, pods of one
// version whose error rates differ (the same spread for both versions, so a good canary may land on a bad pod). The real
// state machine and analysis decide on simulated Prometheus scrapes; the canary is as good as stable.

const spec = rolloutSpecSchema.parse({
  targetRef: { name: 'app' },
  trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
});
const RUNS = 600;
const ALPHA = spec.analysis.comparison.falseRollbackRate;

/**
 * The largest number of rollbacks a method rolling back exactly `alpha` of good canaries exceeds with probability
 * below 0.1% over `runs` runs (exact binomial tail): more than this is a broken budget, not bad luck.
 */
function binomialLimit(runs: number, alpha: number): number {
  let term = Math.pow(1 - alpha, runs);
  let cdf = term;
  let k = 0;
  while (1 - cdf >= 0.001) {
    term *= ((runs - k) / (k + 1)) * (alpha / (1 - alpha));
    cdf += term;
    k += 1;
  }
  return k;
}

const rolledBack = (model: Partial<TrafficModel>, seed: number) =>
  simulate(spec, { traffic: { ...DEFAULT_TRAFFIC, ...model }, runs: RUNS, seed }).rolledBack;

describe('false rollbacks on traffic with retries, bursts and pods that differ', () => {
  it('sets the limit from the binomial tail', () => {
    // Binomial(600, 0.01): P(X > 15) = 0.0005 while P(X > 14) = 0.0013.
    expect(binomialLimit(RUNS, ALPHA)).toBe(15);
  });

  it('stays within falseRollbackRate when Istio retries each failed request once', () => {
    expect(rolledBack({ retries: 1 }, 101)).toBeLessThanOrEqual(binomialLimit(RUNS, ALPHA));
  }, 120_000);

  it('stays within falseRollbackRate with Istio’s default two retries, every retry failing again', () => {
    expect(rolledBack({ retries: 2 }, 102)).toBeLessThanOrEqual(binomialLimit(RUNS, ALPHA));
  }, 120_000);

  it('stays within falseRollbackRate when a dependency fails 0.5% of both tracks’ requests for 30 s, with retries', () => {
    const burst = { seconds: 30, errorRate: 0.005, startsWithinSeconds: 240 };
    expect(rolledBack({ retries: 2, burst }, 103)).toBeLessThanOrEqual(binomialLimit(RUNS, ALPHA));
  }, 120_000);

  it('stays within falseRollbackRate when the pods of each version differ (error-rate CV 1), a good canary on a bad pod included', () => {
    expect(rolledBack({ podErrorRateSpread: 1 }, 104)).toBeLessThanOrEqual(binomialLimit(RUNS, ALPHA));
  }, 120_000);

  it('stays within falseRollbackRate with Istio’s two retries on pods that differ (error-rate CV 1)', () => {
    expect(rolledBack({ retries: 2, podErrorRateSpread: 1 }, 105)).toBeLessThanOrEqual(
      binomialLimit(RUNS, ALPHA),
    );
  }, 120_000);
});
