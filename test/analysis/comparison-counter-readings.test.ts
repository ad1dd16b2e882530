import { describe, expect, it } from 'vitest';
import {
  compareCounters,
  startComparison,
  type ArmReading,
} from '../../src/analysis/comparison/counter-comparison.js';
import { chooseSlowEdge } from '../../src/analysis/comparison/slow-edge.js';

const edge = chooseSlowEdge(undefined, 180, 500);
const settings = {
  falseRollbackRate: 0.01,
  tolerance: 1.5,
  canaryWorkload: 'web-canary',
  stableWorkload: 'web-stable',
};
const pod = (requests: number, errors: number, slow: number, name = '{pod="a"}'): ArmReading => ({
  requests: { [name]: requests },
  errors: { [name]: errors },
  slow: { [name]: slow },
});
const none: ArmReading = { requests: {}, errors: {}, slow: {} };
const t0 = new Date('2026-01-01T00:00:00Z');
const t = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('the comparison on counter readings', () => {
  it('counts a canary that had no series at the step start from zero at the first check', () => {
    const stored = startComparison(edge, { at: t0, canary: none, stable: pod(90_000, 90, 900) });
    const result = compareCounters(
      stored,
      { at: t(15), canary: pod(150, 0, 1, '{pod="new"}'), stable: pod(91_350, 91, 913) },
      settings,
    );
    expect(result.verdict).toBe('pass');
    expect(result.comparison.totals.canary).toEqual({ requests: 150, errors: 0, slow: 1 });
    expect(result.comparison.totals.stable).toEqual({ requests: 1350, errors: 1, slow: 13 });
  });

  it('keeps the previous reading as the baseline while a series is missing, then covers the gap', () => {
    let stored = startComparison(edge, { at: t0, canary: pod(0, 0, 0), stable: pod(1000, 1, 10) });
    const gap = compareCounters(stored, { at: t(15), canary: pod(150, 1, 1), stable: none }, settings);
    expect(gap.verdict).toBe('inconclusive');
    expect(gap.inconclusive).toEqual(['comparison: no request metrics for web-stable']);
    expect(gap.evidence).toBeUndefined();
    stored = gap.comparison;
    const back = compareCounters(
      stored,
      { at: t(30), canary: pod(300, 2, 3), stable: pod(3700, 4, 37) },
      settings,
    );
    expect(back.comparison.totals.canary).toEqual({ requests: 300, errors: 2, slow: 3 });
    expect(back.comparison.totals.stable).toEqual({ requests: 2700, errors: 3, slow: 27 });
  });

  it('rolls back decisively with a finding that names the guard and the bound', () => {
    const stored = startComparison(edge, { at: t0, canary: pod(0, 0, 0), stable: pod(0, 0, 0) });
    const result = compareCounters(
      stored,
      { at: t(30), canary: pod(300, 15, 3), stable: pod(2700, 3, 27) },
      settings,
    );
    expect(result).toMatchObject({ verdict: 'fail', decisive: true });
    expect(result.failures![0]).toMatchObject({ metric: 'comparison', limit: 100 });
    // 15/300 against 3/2700: 45×.
    expect(result.failures![0]!.message).toMatch(
      /^canary 5xx rate is 45× stable's \(evidence [\d.e+]+ ≥ 100\)$/,
    );
  });
});
