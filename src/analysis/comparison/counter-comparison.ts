import { z } from 'zod';
import type { AnalysisSpec } from '../../api/schema.js';
import { formatMs, formatPercent } from '../format.js';
import type { CheckResult, Finding } from '../types.js';
import { cumulativeToIncrement, type CounterSnapshot } from './counters.js';
import {
  storedStateError,
  canPass,
  GUARDS,
  newComparisonState,
  parseComparisonState,
  updateComparison,
  type ArmCounts,
  type ComparisonState,
  type ErrorCounts,
  type GuardName,
  guardTolerance,
  holdEvidence,
  type PodAllowance,
} from './guards.js';
import { podRatioBound, type PodSpread } from './pod-spread.js';
import { rateRatioBounds } from './confidence.js';
import type { SlowEdge } from './slow-edge.js';

// The comparison on raw cumulative counters: from two readings of both arms' counters to one interval of the
// e-process, and from the e-process to a check verdict. Pure, so the controller (through PromQL) and
// `stepwise simulate` (through simulated scrapes) judge with the same arithmetic.

/** One arm's cumulative counters per series (pod), read at one instant. */
export interface ArmReading {
  requests: CounterSnapshot;
  /** 5xx responses. */
  errors: CounterSnapshot;
  /** Requests slower than the edge: `bucket{le="+Inf"} - bucket{le=edge}`, itself a counter. */
  slow: CounterSnapshot;
  /**
   * The arm's requests and 5xx as the callers' sidecars report them (reporter="source"): one count per request, after
   * all of Istio's retries. Absent or empty when no caller is in the mesh.
   */
  callers?: { requests: CounterSnapshot; errors: CounterSnapshot };
  /**
   * The canary only: its callers' requests to the service that no pod answered (503 "no healthy upstream"), which
   * Istio labels with the service alone, not the workload.
   */
  unanswered?: CounterSnapshot;
}

export interface CounterReading {
  at: Date;
  canary: ArmReading;
  stable: ArmReading;
  /** The canary had no ready pod while stable had one: the service's unanswered requests are the canary's. */
  unansweredAreCanary?: boolean;
  /** A mirror step (CheckRequest.mirrored): the canary's callers do not see its requests, so both arms count attempts. */
  mirrored?: boolean;
}

/** Everything the comparison carries from one check to the next, as plain JSON in status.analysis.comparison. */
export interface StoredComparison {
  version: 1;
  /** The e-process of both guards. */
  evidence: ComparisonState;
  slowEdge: SlowEdge;
  /** The spread of stable's pods' error rates before the comparison started (absent: unknown, pods taken as alike). */
  podSpread?: PodSpread;
  /** The counters at the latest usable reading: the next increments start here. */
  last?: { at: string; canary: ArmReading; stable: ArmReading };
  /** Requests and events per arm since the comparison started, for the messages. */
  totals: { canary: ArmCounts; stable: ArmCounts };
}

export type ComparisonSettings = Pick<AnalysisSpec['comparison'], 'falseRollbackRate' | 'tolerance'> & {
  canaryWorkload: string;
  stableWorkload: string;
};

const zeroCounts = (): ArmCounts => ({ requests: 0, errors: 0, slow: 0 });

/**
 * A fresh comparison; `baseline` (counters at the step's start) lets the first check already count, and `podSpread`
 * (stable's pods before the rollout) lets the errors guard allow for pods that differ.
 */
export function startComparison(
  slowEdge: SlowEdge,
  baseline?: CounterReading,
  podSpread?: PodSpread,
): StoredComparison {
  return {
    version: 1,
    evidence: newComparisonState(),
    slowEdge,
    ...(podSpread ? { podSpread } : {}),
    ...(baseline && usable(baseline) ? { last: snapshotOf(baseline) } : {}),
    totals: { canary: zeroCounts(), stable: zeroCounts() },
  };
}

function snapshotOf(reading: CounterReading): NonNullable<StoredComparison['last']> {
  return { at: reading.at.toISOString(), canary: reading.canary, stable: reading.stable };
}

/**
 * A reading can serve as a baseline when stable has request and latency series. The canary may have none yet: Istio
 * creates a series at its first request, and a series absent from the baseline counts from 0.
 */
function usable(reading: CounterReading): boolean {
  const { requests, slow } = reading.stable;
  return Object.keys(requests).length > 0 && Object.keys(slow).length > 0;
}

type WorkloadNames = Pick<ComparisonSettings, 'canaryWorkload' | 'stableWorkload'>;

const armsOf = (names: WorkloadNames) =>
  [
    ['canary', names.canaryWorkload],
    ['stable', names.stableWorkload],
  ] as const;

function missingSeries(reading: CounterReading, names: WorkloadNames): string[] {
  const missing: string[] = [];
  for (const [arm, workload] of armsOf(names)) {
    const counters = reading[arm];
    const served = Object.keys(counters.requests).length > 0;
    // A canary whose pods are gone has no series of its own, while its callers still report what failed.
    const called =
      arm === 'canary' && Object.keys({ ...counters.callers?.requests, ...counters.unanswered }).length > 0;
    if (!served && !called) missing.push(`no request metrics for ${workload}`);
    else if (served && Object.keys(counters.slow).length === 0) {
      missing.push(`no latency buckets for ${workload}`);
    }
  }
  return missing;
}

/** Counter values no counter can hold (negative or not finite), by workload and series. */
function impossibleCounters(reading: CounterReading, names: WorkloadNames): string[] {
  const found: string[] = [];
  for (const [arm, workload] of armsOf(names)) {
    const { callers, unanswered, ...attempts } = reading[arm];
    const counters = {
      ...attempts,
      unanswered: unanswered ?? {},
      callerRequests: callers?.requests ?? {},
      callerErrors: callers?.errors ?? {},
    };
    for (const [counter, snapshot] of Object.entries(counters)) {
      for (const [series, value] of Object.entries(snapshot)) {
        if (!(Number.isFinite(value) && value >= 0)) {
          found.push(
            `${counter} counter of ${workload} ${series} reads ${value}, which no counter can hold; check the metrics Prometheus holds`,
          );
        }
      }
    }
  }
  return found;
}

function increment(before: ArmReading, now: ArmReading): ArmCounts {
  return {
    requests: cumulativeToIncrement(before.requests, now.requests),
    errors: cumulativeToIncrement(before.errors, now.errors),
    slow: cumulativeToIncrement(before.slow, now.slow),
  };
}

/**
 * Attempts one request can cost at most under Istio's default retry policy: the first and 2 retries
 * (DefaultPolicy() in istio/istio pilot/pkg/networking/core/route/retry/retry.go), all to the same subset.
 */
export const DEFAULT_ATTEMPTS_PER_REQUEST = 3;

/**
 * What the errors guard counts in one interval. The server sidecar (reporter="destination") counts every attempt,
 * and a request that fails every time lands up to three times on one arm, so errors are not independent and the
 * e-process would bet on one failure three times. The callers' own reports count each request once, after retries,
 * which is what the test models. Without them, the attempts are weighted by 1/3: a request counted K <= 3 times
 * then enters with the power K/3 <= 1 of its likelihood ratio, whose expectation stays <= 1 by Jensen's inequality
 * (E[X^a] <= E[X]^a for a in [0, 1]), so the product is still a test supermartingale (Ramdas et al. 2023, Stat. Sci.).
 * The callers are used only when both arms have them now and stable had them at the previous reading, and never
 * in a mirror step, whose copies the canary's callers do not report.
 */
function errorCounts(before: { canary: ArmReading; stable: ArmReading }, now: CounterReading): ErrorCounts {
  const callers = (arm: 'canary' | 'stable') => {
    const was = before[arm].callers;
    const is = now[arm].callers;
    if (!is || Object.keys(is.requests).length === 0) return undefined;
    if (arm === 'stable' && (!was || Object.keys(was.requests).length === 0)) return undefined;
    return {
      requests: cumulativeToIncrement(was?.requests ?? {}, is.requests),
      errors: cumulativeToIncrement(was?.errors ?? {}, is.errors),
    };
  };
  if (!now.mirrored) {
    const canary = withUnanswered(callers('canary'), before.canary, now);
    const stable = callers('stable');
    if (canary && stable) return { canary, stable, weight: 1 };
  }
  const attempts = (arm: 'canary' | 'stable') => ({
    requests: cumulativeToIncrement(before[arm].requests, now[arm].requests),
    errors: cumulativeToIncrement(before[arm].errors, now[arm].errors),
  });
  return { canary: attempts('canary'), stable: attempts('stable'), weight: 1 / DEFAULT_ATTEMPTS_PER_REQUEST };
}

/**
 * The canary's callers' counts with the requests no pod answered since the previous reading added as failed requests,
 * whenever they are the canary's (noHealthyUpstreamIsCanary: no ready canary pod while stable has one).
 */
function withUnanswered(
  counts: { requests: number; errors: number } | undefined,
  before: ArmReading,
  now: CounterReading,
): { requests: number; errors: number } | undefined {
  if (!now.unansweredAreCanary || !now.canary.unanswered) return counts;
  const failed = cumulativeToIncrement(before.unanswered, now.canary.unanswered);
  if (failed === 0) return counts;
  return { requests: (counts?.requests ?? 0) + failed, errors: (counts?.errors ?? 0) + failed };
}

/** The share of falseRollbackRate that covers the canary's pods lying beyond the pods' allowance. */
export const POD_BUDGET_SHARE = 0.25;

/**
 * The errors guard's allowance for the canary's pods: the prediction bound for as many pods as have served the canary
 * so far (its series), from the spread of stable's pods. Known before the interval's events are counted, so the
 * e-process stays valid as pods are added (addInterval). None without a spread, or when the pods do not differ.
 */
export function podAllowance(
  stored: StoredComparison,
  reading: CounterReading,
  budget: number,
): PodAllowance {
  const canaryPods = Object.keys(reading.canary.requests).length;
  if (!stored.podSpread) return { ratio: 1, alphaSpent: 0 };
  const alphaSpent = budget * POD_BUDGET_SHARE;
  const ratio = podRatioBound(stored.podSpread, Math.max(1, canaryPods), alphaSpent);
  return ratio > 1 ? { ratio, alphaSpent } : { ratio: 1, alphaSpent: 0 };
}

const add = (a: ArmCounts, b: ArmCounts): ArmCounts => ({
  requests: a.requests + b.requests,
  errors: a.errors + b.errors,
  slow: a.slow + b.slow,
});

/**
 * Feeds the increments since the previous reading to the e-process and judges: a decisive fail once the evidence
 * reaches 1/falseRollbackRate; inconclusive while the data lean against the canary (canPass) or a series is missing;
 * else pass. A missing series adds nothing and keeps the previous reading as the baseline, so the next complete
 * reading covers the gap for both arms alike.
 */
export function compareCounters(
  stored: StoredComparison,
  reading: CounterReading,
  settings: ComparisonSettings,
): Partial<CheckResult> & { comparison: StoredComparison } {
  const budget = settings.falseRollbackRate;
  // Impossible values are refused before anything is stored: a negative baseline would spoil every later increment.
  const impossible = impossibleCounters(reading, settings);
  const unusable = impossible.length > 0 ? impossible : missingSeries(reading, settings);
  if (unusable.length > 0) {
    return {
      verdict: 'inconclusive',
      inconclusive: unusable.map((m) => `comparison: ${m}`),
      comparison: stored,
    };
  }
  if (!stored.last) {
    // No earlier counters to subtract: this reading becomes the baseline, and judging waits for the next one.
    return {
      verdict: 'inconclusive',
      inconclusive: ['comparison: first reading of the counters; the comparison starts at the next check'],
      comparison: { ...stored, last: snapshotOf(reading) },
    };
  }
  if (Date.parse(stored.last.at) >= reading.at.getTime()) {
    return {
      verdict: 'inconclusive',
      inconclusive: ['comparison: no counters newer than the previous check'],
      comparison: stored,
    };
  }

  const canary = increment(stored.last.canary, reading.canary);
  const stable = increment(stored.last.stable, reading.stable);
  const errors = errorCounts(stored.last, reading);
  const allowance = podAllowance(stored, reading, budget);
  const alpha = budget - allowance.alphaSpent;
  const update = updateComparison(stored.evidence, { canary, stable, errors }, budget, allowance);
  const next: StoredComparison = {
    version: 1,
    evidence: update.state,
    slowEdge: stored.slowEdge,
    ...(stored.podSpread ? { podSpread: stored.podSpread } : {}),
    last: snapshotOf(reading),
    totals: { canary: add(stored.totals.canary, canary), stable: add(stored.totals.stable, stable) },
  };

  const errorBounds = update.rateRatio.errors;
  const shown = {
    evidence: update.evidence,
    ...(Number.isFinite(errorBounds.upper) ? { rateRatio: { ...errorBounds } } : {}),
    comparison: next,
  };
  if (update.rollback) {
    const guard = update.guard ?? 'errors';
    const finding: Finding = {
      metric: 'comparison',
      value: update.evidence,
      limit: 1 / alpha,
      message: `${describeGuard(next, guard)} (evidence ${formatEvidence(update.evidence)} ≥ ${formatEvidence(1 / alpha)})`,
    };
    return { verdict: 'fail', decisive: true, failures: [finding], inconclusive: [], ...shown };
  }
  if (!canPass(next.evidence, budget, settings.tolerance, allowance)) {
    const leaning = GUARDS.filter(
      (g) =>
        rateRatioBounds(next.evidence[g], alpha).lower > guardTolerance(g, settings.tolerance, allowance),
    );
    const why = leaning
      .map(
        (g) =>
          `${GUARD_WORDS[g](next.slowEdge)} at least ${formatRatio(rateRatioBounds(next.evidence[g], alpha).lower)}× stable's`,
      )
      .join('; ');
    return {
      verdict: 'inconclusive',
      failures: [],
      inconclusive: [
        `comparison: the data lean against the canary (${why || `evidence ${formatEvidence(update.evidence)} ≥ ${formatEvidence(holdEvidence(alpha))}, waiting for more data`}; tolerance ${formatRatio(settings.tolerance)}×${allowance.ratio > settings.tolerance ? ` (5xx: ${formatRatio(allowance.ratio)}×, the spread of stable's pods)` : ''}, evidence ${formatEvidence(update.evidence)} of ${formatEvidence(1 / alpha)})`,
      ],
      ...shown,
    };
  }
  return { verdict: 'pass', failures: [], inconclusive: [], ...shown };
}

const GUARD_WORDS: Record<GuardName, (edge: SlowEdge) => string> = {
  errors: () => 'canary 5xx rate is',
  slow: (edge) => `canary share of requests slower than ${formatMs(edge.ms)} is`,
};

/** "canary 5xx rate is 12.3× stable's", from the totals since the comparison started. */
function describeGuard(state: StoredComparison, guard: GuardName): string {
  const { canary, stable } = state.totals;
  const canaryRate = canary.requests > 0 ? canary[guard] / canary.requests : 0;
  const stableRate = stable.requests > 0 ? stable[guard] / stable.requests : 0;
  const words = GUARD_WORDS[guard](state.slowEdge);
  if (stableRate > 0) return `${words} ${formatRatio(canaryRate / stableRate)}× stable's`;
  return `${words} ${formatPercent(canaryRate)} while stable's is 0`;
}

function formatRatio(value: number): string {
  return String(Number(value.toPrecision(3)));
}

function formatEvidence(value: number): string {
  if (value >= 1e6) return value.toExponential(1);
  return String(value >= 10 ? Math.round(value) : Number(value.toPrecision(2)));
}

// zod 4 numbers reject NaN and ±Infinity, so a stored state is always plain JSON.
const snapshotSchema = z.record(z.string(), z.number().min(0));
const armSchema = z.strictObject({
  requests: snapshotSchema,
  errors: snapshotSchema,
  slow: snapshotSchema,
  callers: z.strictObject({ requests: snapshotSchema, errors: snapshotSchema }).optional(),
  unanswered: snapshotSchema.optional(),
});
const countsSchema = z.strictObject({
  requests: z.number().min(0),
  errors: z.number().min(0),
  slow: z.number().min(0),
});
const lastSchema = z.strictObject({ at: z.iso.datetime(), canary: armSchema, stable: armSchema });
const storedSchema = z.strictObject({
  version: z.literal(1),
  evidence: z.unknown().refine((v) => v !== undefined, 'missing'),
  slowEdge: z.strictObject({
    ms: z.number().positive(),
    source: z.enum(['spec', 'stable-p99', 'p99-threshold']),
    detail: z.string(),
  }),
  podSpread: z.strictObject({ pods: z.int().min(2), logSd: z.number().min(0) }).optional(),
  last: z.unknown().optional(),
  totals: z.strictObject({ canary: countsSchema, stable: countsSchema }),
});

/**
 * The comparison stored in status.analysis.comparison (undefined: none yet). A stored value that does not fit is an
 * error naming the field, never a silent reset, which would spend the false-rollback budget again.
 */
export function parseStoredComparison(value: unknown): StoredComparison | undefined {
  if (value === undefined) return undefined;
  const parsed = storedSchema.safeParse(value);
  if (!parsed.success) throw storedStateError(parsed.error.issues[0]);
  const evidence = (() => {
    try {
      return parseComparisonState(parsed.data.evidence);
    } catch (error) {
      throw new TypeError((error as Error).message.replace('comparison.', 'comparison.evidence.'));
    }
  })();
  // `last` is only the baseline of the next increment: one that does not fit (e.g. negative readings written before
  // they were refused) is dropped, so the next reading becomes the baseline and the evidence is kept.
  const last = lastSchema.safeParse(parsed.data.last);
  const { last: _stored, ...rest } = parsed.data;
  return { ...rest, evidence, ...(last.success ? { last: last.data } : {}) } as StoredComparison;
}
