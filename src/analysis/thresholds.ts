import type { AnalysisSpec } from '../api/schema.js';
import { formatMs, formatNumber, formatPercent } from './format.js';
import { isNoValue, type QueryValue } from './prometheus.js';
import type { CheckResult, Finding } from './types.js';

/** What Prometheus said about the canary in the current step. */
export interface CanaryMeasurements {
  requests: QueryValue;
  errorRate: QueryValue;
  p99Ms: QueryValue;
  /** Custom metrics by name (analysis.metrics). */
  metrics: Record<string, QueryValue>;
}

type Judged = Pick<AnalysisSpec, 'minRequests' | 'thresholds' | 'metrics'>;

/**
 * The verdict of one check from its measurements. Thresholds are judged only on enough canary
 * traffic; a breach fails the check; a missing measurement makes it inconclusive, never a pass.
 * `inconclusive` is non-empty exactly when the verdict is inconclusive.
 */
export function evaluateThresholds(measured: CanaryMeasurements, spec: Judged): CheckResult {
  const known = knownValues(measured);
  const inconclusive = (reasons: string[]): CheckResult => ({
    verdict: 'inconclusive',
    ...known,
    failures: [],
    inconclusive: reasons,
  });

  const requests = measured.requests;
  if (requests === 0 || (isNoValue(requests) && (requests.kind === 'empty' || requests.kind === 'nan'))) {
    return inconclusive(['no canary traffic in this step']);
  }
  if (isNoValue(requests)) return inconclusive([`requests: ${requests.reason}`]);
  if (requests < spec.minRequests) {
    return inconclusive([`too few requests: ${Math.floor(requests)} of ${spec.minRequests}`]);
  }

  const failures: Finding[] = [];
  const missing: string[] = [];

  const { errorRate, p99Ms } = measured;
  if (isNoValue(errorRate)) missing.push(`error rate: ${errorRate.reason}`);
  else if (errorRate > spec.thresholds.maxErrorRate) {
    const limit = spec.thresholds.maxErrorRate;
    failures.push({
      metric: 'errorRate',
      value: errorRate,
      limit,
      message: `canary error rate ${formatPercent(errorRate)} is above the limit ${formatPercent(limit)}`,
    });
  }

  if (isNoValue(p99Ms)) missing.push(`P99: ${p99Ms.reason}`);
  else if (p99Ms > spec.thresholds.maxP99LatencyMs) {
    const limit = spec.thresholds.maxP99LatencyMs;
    failures.push({
      metric: 'p99Latency',
      value: p99Ms,
      limit,
      message: `canary P99 latency ${formatMs(p99Ms)} is above the limit ${formatMs(limit)}`,
    });
  }

  for (const metric of spec.metrics) {
    const value = measured.metrics[metric.name];
    if (value === undefined) missing.push(`metric ${metric.name}: not measured`);
    else if (isNoValue(value)) missing.push(`metric ${metric.name}: ${value.reason}`);
    else if (metric.min !== undefined && value < metric.min) {
      failures.push({
        metric: metric.name,
        value,
        limit: metric.min,
        message: `metric ${metric.name} ${formatNumber(value)} is below its min ${formatNumber(metric.min)}`,
      });
    } else if (metric.max !== undefined && value > metric.max) {
      failures.push({
        metric: metric.name,
        value,
        limit: metric.max,
        message: `metric ${metric.name} ${formatNumber(value)} is above its max ${formatNumber(metric.max)}`,
      });
    }
  }

  if (failures.length > 0) return { verdict: 'fail', ...known, failures, inconclusive: [] };
  if (missing.length > 0) return inconclusive(missing);
  return { verdict: 'pass', ...known, failures: [], inconclusive: [] };
}

function knownValues(
  measured: CanaryMeasurements,
): Pick<CheckResult, 'requests' | 'errorRate' | 'p99Ms' | 'metrics'> {
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(measured.metrics)) {
    if (!isNoValue(value)) metrics[name] = value;
  }
  return {
    ...(isNoValue(measured.requests) ? {} : { requests: measured.requests }),
    ...(isNoValue(measured.errorRate) ? {} : { errorRate: measured.errorRate }),
    ...(isNoValue(measured.p99Ms) ? {} : { p99Ms: measured.p99Ms }),
    metrics,
  };
}
