import { mergeComparison } from '../analysis/analyzer.js';
import {
  compareCounters,
  parseStoredComparison,
  startComparison,
  type ArmReading,
  type CounterReading,
} from '../analysis/comparison/counter-comparison.js';
import type { CounterSnapshot } from '../analysis/comparison/counters.js';
import { chooseSlowEdge } from '../analysis/comparison/slow-edge.js';
import { noValue, type QueryValue } from '../analysis/prometheus.js';
import { latencyLimitEdge } from '../analysis/promql.js';
import { evaluateThresholds } from '../analysis/thresholds.js';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import type { DueCheck } from '../rollout/checks.js';
import { histogramQuantile, type ArmCounters, type ScrapedArm } from './scrapes.js';
import { BUCKETS_MS } from './traffic.js';

// One analysis check on simulated Prometheus data, through the controller's own judging code: the thresholds
// (evaluateThresholds) on what Prometheus would answer for the step window, and the comparison (compareCounters)
// on the raw counters at the check time.

export interface SimulatedPrometheus {
  canary: ScrapedArm;
  stable: ScrapedArm;
}

const POD = '{pod="simulated"}';

function measureCanary(prometheus: SimulatedPrometheus, startS: number, nowS: number, p99LimitMs: number) {
  const empty = noValue('empty', 'no data (empty result)');
  const window = nowS > startS ? prometheus.canary.growth(startS, nowS) : undefined;
  if (!window) return { requests: empty, errorRate: empty, p99Ms: empty, slowShare: empty, metrics: {} };
  const value = (x: number): QueryValue => (Number.isFinite(x) ? x : noValue('nan', 'no data (NaN)'));
  const edge = BUCKETS_MS.indexOf(latencyLimitEdge(p99LimitMs));
  const share = (count: number): QueryValue =>
    window.requests > 0 ? count / window.requests : noValue('empty', 'no data (empty result)');
  return {
    requests: window.requests,
    errorRate: share(window.errors),
    p99Ms: value(histogramQuantile(0.99, BUCKETS_MS, window.buckets)),
    slowShare:
      edge < 0 ? noValue('empty', 'no bucket at the limit') : share(window.requests - window.buckets[edge]!),
    metrics: {},
  };
}

/** An arm's counters as the comparison's PromQL would return them (one pod, so one series each). */
function armReading(counters: ArmCounters | undefined, edgeMs: number): ArmReading {
  // Istio creates a workload's series at its first request.
  if (!counters || counters.requests === 0) return { requests: {}, errors: {}, slow: {} };
  const edge = BUCKETS_MS.indexOf(edgeMs);
  const slow: CounterSnapshot = edge < 0 ? {} : { [POD]: counters.requests - counters.buckets[edge]! };
  return { requests: { [POD]: counters.requests }, errors: { [POD]: counters.errors }, slow };
}

function reading(prometheus: SimulatedPrometheus, atS: number, edgeMs: number): CounterReading {
  return {
    at: new Date(atS * 1000),
    canary: armReading(prometheus.canary.at(atS), edgeMs),
    stable: armReading(prometheus.stable.at(atS), edgeMs),
  };
}

/**
 * The check the controller would run at `nowS` (seconds on the virtual clock, whose origin is the epoch).
 * `stableP99Ms` stands for stable's P99 in the hour before the rollout, from which the slow-request edge is chosen.
 */
export function simulatedCheck(
  spec: RolloutSpec,
  status: RolloutStatus,
  due: DueCheck,
  nowS: number,
  prometheus: SimulatedPrometheus,
  stableP99Ms: number,
): CheckResult {
  const startS = due.stepStartedAt.getTime() / 1000;
  const thresholds = evaluateThresholds(
    measureCanary(prometheus, startS, nowS, spec.analysis.thresholds.maxP99LatencyMs),
    spec.analysis,
  );
  const settings = spec.analysis.comparison;
  if (!settings.enabled) return { ...thresholds, comparison: status.analysis?.comparison };
  let stored = parseStoredComparison(status.analysis?.comparison);
  if (!stored) {
    const edge = chooseSlowEdge(
      settings.slowRequestMs,
      stableP99Ms,
      spec.analysis.thresholds.maxP99LatencyMs,
    );
    stored = startComparison(edge, startS < nowS ? reading(prometheus, startS, edge.ms) : undefined);
  }
  const comparison = compareCounters(stored, reading(prometheus, nowS, stored.slowEdge.ms), {
    falseRollbackRate: settings.falseRollbackRate,
    tolerance: settings.tolerance,
    canaryWorkload: 'canary',
    stableWorkload: 'stable',
  });
  return mergeComparison(thresholds, comparison);
}
