import { describe, expect, it } from 'vitest';
import {
  compareCounters,
  startComparison,
  type ArmReading,
} from '../../src/analysis/comparison/counter-comparison.js';
import { addInterval, newRateRatioState } from '../../src/analysis/comparison/eprocess.js';
import {
  podRatioBound,
  podSpreadOf,
  studentCdf,
  studentQuantile,
} from '../../src/analysis/comparison/pod-spread.js';
import { chooseSlowEdge } from '../../src/analysis/comparison/slow-edge.js';

describe("Student's t for the pods' prediction bound", () => {
  it('matches the printed tables', () => {
    // Abramowitz & Stegun table 26.10 / any t table.
    expect(studentQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentQuantile(0.995, 2)).toBeCloseTo(9.9248, 3);
    expect(studentQuantile(0.975, 3)).toBeCloseTo(3.1824, 3);
    expect(studentQuantile(0.9975, 3)).toBeCloseTo(7.4533, 3);
    expect(studentQuantile(0.95, 10)).toBeCloseTo(1.8125, 3);
    // t with 4 degrees of freedom: P(T <= 1) = 1/2 + (3/8)(sqrt(1/5)(1 + (1/2)(4/5)))... = 0.81305.
    expect(studentCdf(1, 4)).toBeCloseTo(0.81305, 5);
    expect(studentCdf(-1, 4)).toBeCloseTo(1 - 0.81305, 5);
  });
});

describe("the spread of stable's pods", () => {
  it('is the sample deviation of the pods’ ln error rates, a pod without errors counting half an error', () => {
    // ln(1.5/1000) and ln(7.5/1000) differ by ln 5: deviation ln 5 / sqrt 2.
    const spread = podSpreadOf({ a: 1000, b: 1000 }, { a: 1, b: 7 });
    expect(spread?.pods).toBe(2);
    expect(spread?.logSd).toBeCloseTo(1.13804, 5);
    expect(podSpreadOf({ a: 1000, b: 1000 }, { b: 0 })?.logSd).toBe(0);
  });

  it('leaves out pods that served under half the mean, and knows nothing from one pod', () => {
    expect(podSpreadOf({ a: 1000, b: 1000, late: 100 }, { a: 1, b: 7, late: 50 })?.pods).toBe(2);
    expect(podSpreadOf({ a: 1000 }, { a: 1 })).toBeUndefined();
    expect(podSpreadOf({}, {})).toBeUndefined();
  });

  it('bounds the canary’s ratio by exp(t s sqrt(1 + 1/k)), halving the level for every further canary pod', () => {
    // k = 4, s = 0.1, one canary pod at level 0.0025: t_3(0.9975) = 7.4533, exp(7.4533 · 0.1 · 1.1180) = 2.3009.
    expect(podRatioBound({ pods: 4, logSd: 0.1 }, 1, 0.005)).toBeCloseTo(2.3009, 3);
    expect(podRatioBound({ pods: 4, logSd: 0.1 }, 2, 0.005)).toBeGreaterThan(2.3009);
    expect(podRatioBound({ pods: 4, logSd: 0 }, 1, 0.005)).toBe(1);
  });
});

describe('the errors e-process against a ratio above 1', () => {
  it('bets on nullRatio × r against nullRatio', () => {
    // xc = 3, xs = 1, pi0 = 100 / 400. For r = 1.5 against 2: 3 ln 1.5 - 4 (ln(1 + 0.25 · 2) - ln(1 + 0.25 · 1)).
    const interval = { canaryEvents: 3, stableEvents: 1, canaryRequests: 100, stableRequests: 300 };
    expect(addInterval(newRateRatioState(), interval, 2).logL[0]).toBeCloseTo(0.487109, 6);
    // Against 1 it is the plain test: 3 ln 1.5 - 4 ln(1 + 0.25 · 0.5).
    expect(addInterval(newRateRatioState(), interval).logL[0]).toBeCloseTo(0.745263, 6);
  });
});

describe("the comparison with stable's pods' spread", () => {
  const edge = chooseSlowEdge(undefined, 180, 500);
  const settings = { falseRollbackRate: 0.01, tolerance: 1.5, canaryWorkload: 'c', stableWorkload: 's' };
  // One pod per arm, and the callers' reports of the same requests (each counted once).
  const arm = (requests: number, errors: number): ArmReading => ({
    requests: { '{pod="a"}': requests },
    errors: { '{pod="a"}': errors },
    slow: { '{pod="a"}': 0 },
    callers: { requests: { '{pod="client"}': requests }, errors: { '{pod="client"}': errors } },
  });
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = new Date(t0.getTime() + 60_000);
  // The canary's rate is 3× stable's over 100 000 requests each: 300 5xx against 100.
  const threeTimes = { at, canary: arm(100_000, 300), stable: arm(100_000, 100) };

  it('rolls back a canary at 3× stable’s 5xx rate when stable’s pods fail alike', () => {
    const stored = startComparison(edge, { at: t0, canary: arm(0, 0), stable: arm(0, 0) });
    expect(compareCounters(stored, threeTimes, settings).verdict).toBe('fail');
  });

  it('does not roll back a canary at 3× stable’s rate when stable’s own pods spread that far', () => {
    // s = 0.2 over 4 pods: one canary pod may lie up to 8.3× stable's rate at level 0.00125 (t_3 = 9.46).
    const spread = { pods: 4, logSd: 0.2 };
    const stored = startComparison(edge, { at: t0, canary: arm(0, 0), stable: arm(0, 0) }, spread);
    const result = compareCounters(stored, threeTimes, settings);
    expect(result.verdict).not.toBe('fail');
    expect(result.comparison.podSpread).toEqual(spread);
    // Beyond the allowance the canary is rolled back: 20× stable's rate.
    const twenty = { at, canary: arm(100_000, 2000), stable: arm(100_000, 100) };
    expect(compareCounters(stored, twenty, settings).verdict).toBe('fail');
  });
});
