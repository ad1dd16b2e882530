import { mergeComparison } from '../analysis/analyzer.js';
import {
  compareCounters,
  parseStoredComparison,
  startComparison,
  type ArmReading,
  type CounterReading,
} from '../analysis/comparison/counter-comparison.js';
import type { PodSpread } from '../analysis/comparison/pod-spread.js';
import { chooseSlowEdge } from '../analysis/comparison/slow-edge.js';
import { noValue, type QueryValue } from '../analysis/prometheus.js';
import { latencyLimitEdge } from '../analysis/promql.js';
import { evaluateThresholds } from '../analysis/thresholds.js';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import type { DueCheck } from '../rollout/checks.js';
import { histogramQuantile, type ArmSample, type ScrapedArm } from './scrapes.js';
import { BUCKETS_MS } from './traffic.js';

// One analysis check on simulated Prometheus data, through the controller's own judging code: the thresholds
// (evaluateThresholds) on what Prometheus would answer for the step window, and the comparison (compareCounters)
// on the raw counters at the check time.

export interface SimulatedPrometheus {
  canary: ScrapedArm;
  stable: ScrapedArm;
}

function measureCanary(prometheus: SimulatedPrometheus, startS: number, nowS: number, p99LimitMs: number) {
  const empty = noValue('empty', 'no data (empty result)');
  const window = nowS > startS ? prometheus.canary.growth(startS, nowS) : undefined;
  if (!window) return { requests: empty, errorRate: empty, p99Ms: empty, slowShare: empty, metrics: {} };
  const value = (x: number): QueryValue => (Number.isFinite(x) ? x : noValue('nan', 'no data (NaN)'));
  const edge = BUCKETS_MS.indexOf(latencyLimitEdge(p99LimitMs));
  const share = (count: number): QueryValue =>
    window.requests > 0 ? count / window.requests : noValue('empty', 'no data (empty result)');
  // As the analyzer does: the callers' error rate when they report one (callersOrAttempts in analyzer.ts).
  const callers = window.callers;
  return {
    requests: window.requests,
    ...(callers.requests > 0
      ? { errorRate: callers.errors / callers.requests, errorRateRequests: callers.requests }
      : { errorRate: share(window.errors) }),
    p99Ms: value(histogramQuantile(0.99, BUCKETS_MS, window.buckets)),
    slowShare:
      edge < 0 ? noValue('empty', 'no bucket at the limit') : share(window.requests - window.buckets[edge]!),
    metrics: {},
  };
}

/** The series of simulated pod `i`, as a per-pod query returns it. */
export const podSeries = (i: number) => `{pod="simulated-${i}"}`;

/**
 * An arm's counters as the comparison's PromQL would return them: one series per pod that has served a request, and
 * the callers' reports.
 */
function armReading(sample: ArmSample | undefined, edgeMs: number): ArmReading {
  const reading: ArmReading = { requests: {}, errors: {}, slow: {} };
  const edge = BUCKETS_MS.indexOf(edgeMs);
  sample?.pods.forEach((pod, i) => {
    // Istio creates a pod's series at its first request.
    if (pod.requests === 0) return;
    const series = podSeries(i);
    reading.requests[series] = pod.requests;
    reading.errors[series] = pod.errors;
    if (edge >= 0) reading.slow[series] = pod.requests - pod.buckets[edge]!;
  });
  // The callers' sidecars (reporter="source"): one series for the simulated client.
  if (sample && sample.callers.requests > 0) {
    reading.callers = {
      requests: { '{pod="client"}': sample.callers.requests },
      errors: { '{pod="client"}': sample.callers.errors },
    };
  }
  return reading;
}

function reading(prometheus: SimulatedPrometheus, atS: number, edgeMs: number): CounterReading {
  return {
    at: new Date(atS * 1000),
    canary: armReading(prometheus.canary.at(atS), edgeMs),
    stable: armReading(prometheus.stable.at(atS), edgeMs),
  };
}

/** What the comparison reads of stable before the rollout. */
export interface StableBefore {
  /** Stable's P99 in the hour before, from which the slow-request edge is chosen. */
  p99Ms: number;
  /** The spread of its pods' error rates over the day before. */
  podSpread?: PodSpread;
}

/** The check the controller would run at `nowS` (seconds on the virtual clock, whose origin is the epoch). */
export function simulatedCheck(
  spec: RolloutSpec,
  status: RolloutStatus,
  due: DueCheck,
  nowS: number,
  prometheus: SimulatedPrometheus,
  before: StableBefore,
): CheckResult {
  // The comparison's baseline is read where the controller's is (rollout/checks.ts baselineAtMs).
  const baselineS = due.baselineAt.getTime() / 1000;
  // The thresholds judge from the grid instant the controller's do (rollout/checks.ts windowStartMs).
  const windowStartS = due.windowStartedAt.getTime() / 1000;
  const thresholds = evaluateThresholds(
    measureCanary(prometheus, windowStartS, nowS, spec.analysis.thresholds.maxP99LatencyMs),
    spec.analysis,
  );
  const settings = spec.analysis.comparison;
  if (!settings.enabled) return { ...thresholds, comparison: status.analysis?.comparison };
  let stored = parseStoredComparison(status.analysis?.comparison);
  if (!stored) {
    const edge = chooseSlowEdge(
      settings.slowRequestMs,
      before.p99Ms,
      spec.analysis.thresholds.maxP99LatencyMs,
    );
    const baseline = baselineS < nowS ? reading(prometheus, baselineS, edge.ms) : undefined;
    stored = startComparison(edge, baseline, before.podSpread);
  }
  const comparison = compareCounters(stored, reading(prometheus, nowS, stored.slowEdge.ms), {
    falseRollbackRate: settings.falseRollbackRate,
    tolerance: settings.tolerance,
    canaryWorkload: 'canary',
    stableWorkload: 'stable',
  });
  return mergeComparison(thresholds, comparison);
}
