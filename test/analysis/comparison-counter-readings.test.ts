import { describe, expect, it } from 'vitest';
import {
  compareCounters,
  DEFAULT_ATTEMPTS_PER_REQUEST,
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

// Istio retries a failed request up to twice, and the server sidecar (reporter="destination") counts every attempt:
// one request that fails every time shows up as three 5xx on one arm. The errors guard must weigh it as one.

/** Server-side counters of one pod, and with `callers` the same arm as its callers' sidecars report it. */
const arm = (requests: number, errors: number, callers?: [requests: number, errors: number]): ArmReading => ({
  ...pod(requests, errors, 0),
  ...(callers && {
    callers: { requests: { '{pod="client"}': callers[0] }, errors: { '{pod="client"}': callers[1] } },
  }),
});

/**
 * The comparison after one 10 s interval from `before` to `after`; `unansweredAreCanary` as the readiness of the
 * tracks at `after` decides it.
 */
const oneInterval = (
  before: [ArmReading, ArmReading],
  after: [ArmReading, ArmReading],
  unansweredAreCanary = false,
) =>
  compareCounters(
    startComparison(edge, { at: t0, canary: before[0], stable: before[1] }),
    {
      at: t(10),
      canary: after[0],
      stable: after[1],
      ...(unansweredAreCanary ? { unansweredAreCanary } : {}),
    },
    settings,
  );

/**
 * One failed request on the canary, none on stable, canary share 0.1: each rollback ratio rho has the likelihood
 * ratio rho / (1 + 0.1 (rho - 1)), i.e. 1.5/1.05, 2/1.1, 3/1.2, 5/1.4, 10/1.9, 20/2.9, 50/5.9, whose mean is
 * 29.952468 / 7 = 4.278924; the slow guard has no events (e-value 1), so the evidence is (2/3) 4.278924 + (1/3) 1
 * (the errors guard's weight is 2/3).
 */
const ONE_FAILED_REQUEST = 3.185949;

describe('the comparison on retried requests', () => {
  it('counts a request that failed on all three attempts once, from the callers’ reports', () => {
    // 100 requests, one failing 3 times: 102 attempts, 3 of them 5xx.
    const result = oneInterval(
      [arm(0, 0, [0, 0]), arm(0, 0, [0, 0])],
      [arm(102, 3, [100, 1]), arm(900, 0, [900, 0])],
    );
    expect(result.evidence).toBeCloseTo(ONE_FAILED_REQUEST, 5);
    expect(result.comparison.evidence.errors.canaryEvents).toBe(1);
  });

  it('weighs server-side attempts by 1/3 when no caller reports, so three failed attempts weigh one request', () => {
    const result = oneInterval([arm(0, 0), arm(0, 0)], [arm(100, 3), arm(900, 0)]);
    expect(result.evidence).toBeCloseTo(ONE_FAILED_REQUEST, 5);
    // Counted as three attempts, the same data would be (2/3) mean of (rho/(1 + 0.1 (rho - 1)))^3 + 1/3 = 110.
    expect(result.evidence!).toBeLessThan(4);
  });

  it('uses the server-side attempts while stable has no callers’ reports at the previous reading', () => {
    const result = oneInterval(
      [arm(0, 0, [0, 0]), arm(0, 0)],
      [arm(100, 3, [100, 3]), arm(900, 0, [900, 0])],
    );
    expect(result.evidence).toBeCloseTo(ONE_FAILED_REQUEST, 5);
  });
});

describe('the comparison in a mirror step', () => {
  // The canary answers copies its callers never report (istio/istio#23496): their counts stand still at what an
  // earlier release served, while the canary's own sidecar counts the copies and their 5xx.
  const copies = (mirrored: boolean) =>
    compareCounters(
      startComparison(edge, {
        at: t0,
        canary: arm(5000, 0, [5000, 0]),
        stable: arm(45_000, 45, [45_000, 45]),
      }),
      {
        at: t(10),
        canary: arm(5900, 45, [5000, 0]),
        stable: arm(45_900, 46, [45_900, 46]),
        ...(mirrored ? { mirrored } : {}),
      },
      settings,
    );

  it('judges the copies the canary served, not its callers’ counts of an earlier release', () => {
    const result = copies(true);
    // 45 failed copies, as attempts weighed by 1/3 (the server side counts each retry).
    expect(result.comparison.evidence.errors.canaryEvents).toBe(45 / DEFAULT_ATTEMPTS_PER_REQUEST);
    expect(result.verdict).toBe('fail');
    // The callers' counts alone would have seen nothing of the canary in this interval.
    expect(copies(false).comparison.evidence.errors.canaryEvents).toBe(0);
  });
});

describe('the comparison on requests no canary pod answered', () => {
  const withUnanswered = (reading: ArmReading, failed: number): ArmReading => ({
    ...reading,
    unanswered: { '{pod="client"}': failed },
  });

  /** 40 unanswered requests in an interval in which the canary served `served` more and stable 900. */
  const interval = (served: number, unansweredAreCanary: boolean) =>
    oneInterval(
      [withUnanswered(arm(500, 0, [500, 0]), 0), arm(4500, 4, [4500, 4])],
      [withUnanswered(arm(500 + served, 0, [500 + served, 0]), 40), arm(5400, 5, [5400, 5])],
      unansweredAreCanary,
    );

  it('counts them as the canary’s failed requests while it has no ready pod and stable has', () => {
    const result = interval(0, true);
    expect(result.comparison.evidence.errors.canaryEvents).toBe(40);
    expect(result).toMatchObject({ verdict: 'fail', decisive: true });
    // Also when the canary still served in the interval, before its last pod went unready.
    expect(interval(50, true).comparison.evidence.errors.canaryEvents).toBe(40);
  });

  it('leaves them out while the canary has a ready pod: the subset that failed is not in the labels', () => {
    expect(interval(0, false).comparison.evidence.errors.canaryEvents).toBe(0);
  });
});
