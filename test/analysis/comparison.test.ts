import { describe, expect, it } from 'vitest';
import { logEvidenceBeyondRatio, rateRatioBounds } from '../../src/analysis/comparison/confidence.js';
import { cumulativeToIncrement } from '../../src/analysis/comparison/counters.js';
import {
  addInterval,
  logEvidenceAgainstCanary,
  newRateRatioState,
  RATIO_GRID,
  type EventInterval,
  type RateRatioState,
} from '../../src/analysis/comparison/eprocess.js';
import {
  canPass,
  comparisonEvidence,
  HOLD_EVIDENCE,
  newComparisonState,
  parseComparisonState,
  updateComparison,
  type ComparisonIncrement,
} from '../../src/analysis/comparison/guards.js';
import { sampleBinomial, samplePoisson, seededRandom } from '../../src/analysis/comparison/random.js';
import { logSumExp } from '../../src/analysis/comparison/special.js';
import { withinThreeSe } from './comparison-traffic.js';

const events = (
  canaryEvents: number,
  stableEvents: number,
  canaryRequests = 5,
  stableRequests = 95,
): EventInterval => ({
  canaryEvents,
  stableEvents,
  canaryRequests,
  stableRequests,
});

function feed(state: RateRatioState, intervals: EventInterval[]): RateRatioState {
  return intervals.reduce(addInterval, state);
}

describe('logSumExp', () => {
  it('adds huge and tiny terms without overflow and honours weights', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logSumExp([-1000, -1000], [0.5, 0.5])).toBeCloseTo(-1000, 12);
    expect(logSumExp([])).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('rate-ratio e-process for event counts', () => {
  it('matches the hand-computed log-likelihood ratios and e-value', () => {
    // pi0 = 5/100 = 0.05, xc = 2, xs = 3; pi_j = 0.05 rho / (0.05 rho + 0.95);
    // L_j = 2 ln(pi_j / 0.05) + 3 ln((1 - pi_j) / 0.95):
    //   rho 1.5: pi 0.073171, 2(0.380772) + 3(-0.024693) = 0.687467
    //   rho 2:   pi 0.095238, 2(0.644357) + 3(-0.048790) = 1.142344
    //   rho 3:   pi 0.136364, 2(1.003302) + 3(-0.095310) = 1.720674
    //   rho 5:   pi 0.208333, 2(1.427116) + 3(-0.182322) = 2.307268
    //   rho 10:  pi 0.344828, 2(1.931022) + 3(-0.371564) = 2.747352
    //   rho 20:  pi 0.512821, 2(2.327903) + 3(-0.667829) = 2.652318
    //   rho 50:  pi 0.724638, 2(2.673649) + 3(-1.238374) = 1.632175
    // E = (1.9887 + 3.1341 + 5.5883 + 10.0469 + 15.6013 + 14.1869 + 5.1150) / 7 = 7.951593
    const once = addInterval(newRateRatioState(), events(2, 3));
    const expected = [0.687467, 1.142344, 1.720674, 2.307268, 2.747352, 2.652318, 1.632175];
    once.logL.forEach((l, j) => expect(l).toBeCloseTo(expected[j] ?? Number.NaN, 5));
    expect(Math.exp(logEvidenceAgainstCanary(once))).toBeCloseTo(7.951593, 5);

    // A second interval at pi0 = 25/100 with one canary error adds ln(pi_j / 0.25) = ln(rho / (1 + 0.25 (rho - 1))):
    // rho 1.5 -> +0.287682 (L 0.975149), rho 50 -> +1.328025 (L 2.960200); E = 22.944498.
    const twice = addInterval(once, events(1, 0, 25, 75));
    expect(twice.logL[0]).toBeCloseTo(0.975149, 5);
    expect(twice.logL[6]).toBeCloseTo(2.9602, 5);
    expect(Math.exp(logEvidenceAgainstCanary(twice))).toBeCloseTo(22.944498, 5);
    expect(twice.canaryEvents).toBe(3);
    expect(twice.stableEvents).toBe(3);
  });

  it('loses evidence when events land on the canary in proportion to its share', () => {
    const early = feed(
      newRateRatioState(),
      Array.from({ length: 10 }, () => events(1, 19)),
    );
    const late = feed(
      early,
      Array.from({ length: 30 }, () => events(1, 19)),
    );
    expect(logEvidenceAgainstCanary(early)).toBeLessThan(0);
    expect(logEvidenceAgainstCanary(late)).toBeLessThan(Math.log(0.01));
  });

  it('ignores intervals without requests on one arm: every event then lands where all hypotheses say', () => {
    const start = addInterval(newRateRatioState(), events(2, 3));
    expect(addInterval(start, events(4, 0, 100, 0))).toBe(start);
    expect(addInterval(start, events(0, 4, 0, 100))).toBe(start);
    expect(addInterval(start, events(0, 0, 5, 95))).toBe(start);
  });

  it('keeps NaN and Infinity out of the state and counts negative increments as zero', () => {
    const start = addInterval(newRateRatioState(), events(2, 3));
    expect(addInterval(start, events(Number.NaN, 3))).toBe(start);
    expect(addInterval(start, events(1, 3, Number.POSITIVE_INFINITY, 95))).toBe(start);
    expect(addInterval(start, events(-4, 3))).toEqual(addInterval(start, events(0, 3)));
    expect(addInterval(start, events(1e308, 1e308)).logL.every(Number.isFinite)).toBe(true);
  });

  it('never changes the state it is given', () => {
    const start = addInterval(newRateRatioState(), events(2, 3));
    const copy = structuredClone(start);
    addInterval(start, events(5, 1));
    expect(start).toEqual(copy);
  });
});

describe('rate-ratio confidence sequence', () => {
  it('rules nothing out without events', () => {
    expect(rateRatioBounds(newRateRatioState(), 0.01)).toEqual({ lower: 0, upper: Number.POSITIVE_INFINITY });
  });

  it('contains the true ratio on data that follow it, and narrows as data accumulate', () => {
    // Equal shares, two canary events per stable event: ratio 2.
    const interval = events(2, 1, 50, 50);
    const early = feed(
      newRateRatioState(),
      Array.from({ length: 20 }, () => interval),
    );
    const late = feed(
      early,
      Array.from({ length: 180 }, () => interval),
    );
    for (const state of [early, late]) {
      const { lower, upper } = rateRatioBounds(state, 0.01);
      expect(lower).toBeLessThan(2);
      expect(upper).toBeGreaterThan(2);
    }
    const a = rateRatioBounds(early, 0.01);
    const b = rateRatioBounds(late, 0.01);
    expect(b.lower).toBeGreaterThan(a.lower);
    expect(b.upper).toBeLessThan(a.upper);
    expect(b.lower).toBeGreaterThan(1.3);
    expect(b.upper).toBeLessThan(3.5);
  });

  it('widens as alpha shrinks', () => {
    const state = feed(
      newRateRatioState(),
      Array.from({ length: 40 }, () => events(2, 1, 50, 50)),
    );
    const loose = rateRatioBounds(state, 0.2);
    const strict = rateRatioBounds(state, 0.001);
    expect(strict.lower).toBeLessThanOrEqual(loose.lower);
    expect(strict.upper).toBeGreaterThanOrEqual(loose.upper);
    expect(strict.upper - strict.lower).toBeGreaterThan(loose.upper - loose.lower);
  });

  it('has evidence monotone in the candidate ratio on any path, so each bound is one cut of the grid', () => {
    const random = seededRandom(3);
    for (let run = 0; run < 20; run++) {
      let state = newRateRatioState();
      for (let t = 0; t < 30; t++) {
        const nc = 1 + Math.floor(random() * 99);
        state = addInterval(state, events(samplePoisson(random, 1), samplePoisson(random, 2), nc, 100 - nc));
      }
      for (let i = 1; i < RATIO_GRID.length; i++) {
        expect(logEvidenceBeyondRatio(state, i, 1)).toBeLessThanOrEqual(
          logEvidenceBeyondRatio(state, i - 1, 1) + 1e-9,
        );
        expect(logEvidenceBeyondRatio(state, i, -1)).toBeGreaterThanOrEqual(
          logEvidenceBeyondRatio(state, i - 1, -1) - 1e-9,
        );
      }
    }
  });

  it('covers the true ratio at every look with probability at least 1 - alpha, while the share changes', () => {
    const random = seededRandom(5);
    const alpha = 0.1;
    const truth = 3;
    const runs = 1000;
    let missed = 0;
    let resolved = 0;
    for (let run = 0; run < runs; run++) {
      let state = newRateRatioState();
      let everMissed = false;
      for (let t = 0; t < 100; t++) {
        const pi0 = [0.05, 0.2, 0.5][t % 3] ?? 0.5;
        const n = samplePoisson(random, 3);
        const xc = sampleBinomial(random, n, (pi0 * truth) / (pi0 * truth + 1 - pi0));
        state = addInterval(state, events(xc, n - xc, pi0 * 1000, (1 - pi0) * 1000));
        const { lower, upper } = rateRatioBounds(state, alpha);
        if (!(lower < truth && truth < upper)) everMissed = true;
      }
      if (everMissed) missed += 1;
      const end = rateRatioBounds(state, alpha);
      if (end.lower > 1 && end.upper < 10) resolved += 1;
    }
    expect(missed / runs).toBeLessThanOrEqual(withinThreeSe(alpha, runs));
    expect(resolved / runs).toBeGreaterThan(0.9);
  });
});

describe('comparison guards', () => {
  const quiet = { requests: 95, errors: 0, slow: 0 };
  const increment = (
    canary: Partial<ComparisonIncrement['canary']>,
    stable = quiet,
  ): ComparisonIncrement => ({
    canary: { requests: 5, errors: 0, slow: 0, ...canary },
    stable,
  });

  it('reports the weighted mean of the two guards e-values (errors 2/3, slow 1/3) as the evidence compared with 1/alpha', () => {
    // Errors as in the hand-computed example (E = 7.951593), no slow requests (E = 1): (2/3) 7.951593 + 1/3.
    const { evidence, rollback, guard } = updateComparison(
      newComparisonState(),
      increment({ errors: 2 }, { requests: 95, errors: 3, slow: 0 }),
      0.01,
    );
    expect(evidence).toBeCloseTo(5.634395, 5);
    expect(rollback).toBe(false);
    expect(guard).toBeUndefined();
  });

  it('rolls back once the evidence reaches 1/alpha and names the guard that carried it', () => {
    let state = newComparisonState();
    let result = updateComparison(state, increment({ slow: 3 }), 0.01);
    for (let t = 0; t < 20 && !result.rollback; t++) {
      state = result.state;
      result = updateComparison(state, increment({ slow: 3 }, { requests: 95, errors: 0, slow: 1 }), 0.01);
    }
    expect(result.rollback).toBe(true);
    expect(result.guard).toBe('slow');
    expect(result.evidence).toBeGreaterThanOrEqual(100);
    expect(comparisonEvidence(result.state)).toBe(result.evidence);
    expect(result.rateRatio.slow.lower).toBeGreaterThan(1);
    expect(result.rateRatio.errors).toEqual({ lower: 0, upper: Number.POSITIVE_INFINITY });
  });

  it('rejects a false-rollback rate outside (0, 1) with the field to fix', () => {
    expect(() => updateComparison(newComparisonState(), increment({}), 0)).toThrow(/falseRollbackRate/);
    expect(() => canPass(newComparisonState(), 1.5, 1.5)).toThrow(/falseRollbackRate/);
    expect(() => canPass(newComparisonState(), 0.01, 0.5)).toThrow(/tolerance/);
  });

  it('lets a step pass without events, and holds it when the canary is clearly worse', () => {
    expect(canPass(newComparisonState(), 0.01, 1.5)).toBe(true);
    let state = newComparisonState();
    for (let t = 0; t < 30; t++) {
      state = updateComparison(
        state,
        increment({ errors: 1 }, { requests: 95, errors: 1, slow: 0 }),
        0.01,
      ).state;
    }
    // 30 of 60 errors on a 5% share: the ratio is about 19, its lower bound far above the tolerance.
    expect(rateRatioBounds(state.errors, 0.01).lower).toBeGreaterThan(5);
    expect(canPass(state, 0.01, 1.5)).toBe(false);
  });

  it('holds a step while the evidence leans against the canary, before any bound is above the tolerance', () => {
    // 5 of 6 errors on a 25% share: evidence 23, short of the rollback level 100, and the ratio's lower bound (0.56)
    // still below the tolerance. A step that passed here would move on with the evidence unresolved.
    const { state, rollback } = updateComparison(
      newComparisonState(),
      { canary: { requests: 1000, errors: 5, slow: 0 }, stable: { requests: 3000, errors: 1, slow: 0 } },
      0.01,
    );
    expect(rollback).toBe(false);
    expect(comparisonEvidence(state)).toBeGreaterThan(HOLD_EVIDENCE);
    expect(rateRatioBounds(state.errors, 0.01).lower).toBeLessThan(1.5);
    expect(canPass(state, 0.01, 1.5)).toBe(false);
    // One error on each arm in proportion to the share leaves the evidence below the hold level: the step passes.
    const even = updateComparison(
      newComparisonState(),
      { canary: { requests: 1000, errors: 1, slow: 0 }, stable: { requests: 3000, errors: 3, slow: 0 } },
      0.01,
    );
    expect(comparisonEvidence(even.state)).toBeLessThan(HOLD_EVIDENCE);
    expect(canPass(even.state, 0.01, 1.5)).toBe(true);
  });

  it('lets a step pass when the canary gets its share of the events', () => {
    let state = newComparisonState();
    for (let t = 0; t < 60; t++) {
      const errors = t % 20 === 0 ? 1 : 0;
      state = updateComparison(
        state,
        increment({ errors, slow: 1 }, { requests: 95, errors: 19 * errors, slow: 19 }),
        0.01,
      ).state;
    }
    expect(canPass(state, 0.01, 1.5)).toBe(true);
    // 60 of 1,200 slow requests on the 5% share: ratio 1, bounded on both sides.
    const slow = rateRatioBounds(state.slow, 0.01);
    expect(slow.lower).toBeLessThan(1);
    expect(slow.upper).toBeLessThan(2);
  });

  it('gives identical evidence after a JSON round trip of the state mid-stream', () => {
    const random = seededRandom(9);
    const stream = Array.from({ length: 200 }, () => {
      const nc = sampleBinomial(random, 100, 0.25);
      return {
        canary: {
          requests: nc,
          errors: sampleBinomial(random, nc, 0.02),
          slow: sampleBinomial(random, nc, 0.03),
        },
        stable: {
          requests: 100 - nc,
          errors: sampleBinomial(random, 100 - nc, 0.01),
          slow: sampleBinomial(random, 100 - nc, 0.02),
        },
      };
    });
    let direct = newComparisonState();
    for (const step of stream.slice(0, 100)) direct = updateComparison(direct, step, 0.01).state;
    let restored = parseComparisonState(JSON.parse(JSON.stringify(direct)));
    for (const step of stream.slice(100)) {
      const a = updateComparison(direct, step, 0.01);
      const b = updateComparison(restored, step, 0.01);
      expect(b.evidence).toBe(a.evidence);
      expect(b.rateRatio).toEqual(a.rateRatio);
      direct = a.state;
      restored = b.state;
    }
    expect(restored).toEqual(direct);
  });

  it('reads a stored state, starts fresh without one, and names the field of a corrupt one', () => {
    expect(parseComparisonState(undefined)).toEqual(newComparisonState());
    const stored = JSON.parse(JSON.stringify(newComparisonState())) as { errors: { logL: unknown[] } };
    stored.errors.logL[0] = null; // what JSON makes of NaN
    expect(() => parseComparisonState(stored)).toThrow(/status\.analysis\.comparison\.errors\.logL\.0/);
    expect(() => parseComparisonState({ version: 2 })).toThrow(/status\.analysis\.comparison\.version/);
  });
});

describe('cumulativeToIncrement', () => {
  it('starts a baseline at the first reading', () => {
    expect(cumulativeToIncrement(undefined, { a: 500 })).toBe(0);
  });

  it('sums per-series growth, counts a reset series from zero, and a new series in full', () => {
    const prev = { 'pod-a': 100, 'pod-b': 40 };
    expect(cumulativeToIncrement(prev, { 'pod-a': 130, 'pod-b': 45 })).toBe(35);
    // pod-b restarted: its counter went back to 0 and is now 7.
    expect(cumulativeToIncrement(prev, { 'pod-a': 130, 'pod-b': 7 })).toBe(37);
    expect(cumulativeToIncrement(prev, { 'pod-a': 100, 'pod-c': 12 })).toBe(12);
  });

  it('adds nothing for unreadable values', () => {
    expect(cumulativeToIncrement({ a: 10, b: Number.NaN }, { a: Number.NaN, b: 20 })).toBe(0);
  });
});

describe('seeded random samplers', () => {
  it('repeat the same sequence for the same seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
  });

  it.each([
    ['binomial, small mean', (r: () => number) => sampleBinomial(r, 100, 0.001), 0.1, 0.0999],
    ['binomial, large mean', (r: () => number) => sampleBinomial(r, 100_000, 0.3), 30_000, 21_000],
    ['binomial, p above one half', (r: () => number) => sampleBinomial(r, 50, 0.9), 45, 4.5],
    ['Poisson, small mean', (r: () => number) => samplePoisson(r, 2.5), 2.5, 2.5],
    ['Poisson, large mean', (r: () => number) => samplePoisson(r, 5000), 5000, 5000],
  ])('draw %s with the right mean and variance', (_name, draw, mean, variance) => {
    const random = seededRandom(1);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => draw(random));
    const m = xs.reduce((s, x) => s + x, 0) / n;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1);
    expect(xs.every(Number.isInteger)).toBe(true);
    expect(Math.abs(m - mean)).toBeLessThan(5 * Math.sqrt(variance / n));
    expect(Math.abs(v / variance - 1)).toBeLessThan(0.1);
  });
});
