import type { AnalysisSpec } from '../api/schema.js';
import { formatMs, formatNumber, formatPercent } from './format.js';
import { isNoValue, type QueryValue } from './prometheus.js';
import type { CheckResult, Finding } from './types.js';

/** What Prometheus said about the canary in the current step. */
export interface CanaryMeasurements {
  requests: QueryValue;
  /**
   * The error rate as the callers saw it (reporter="source", each request once after retries) when they report it,
   * else the share of 5xx attempts the canary's sidecar served.
   */
  errorRate: QueryValue;
  /** The requests `errorRate` is a share of, when not `requests` (the callers' count). */
  errorRateRequests?: number;
  /** Undefined when the mesh exports no latency histogram: P99 is then not judged. */
  p99Ms?: QueryValue;
  /** Share of requests slower than the latency limit's bucket edge (see latencyLimitEdge in promql.ts). */
  slowShare: QueryValue;
  /** Custom metrics by name (analysis.metrics). */
  metrics: Record<string, QueryValue>;
  /**
   * Requests of the step that no canary pod answered (503 "no healthy upstream" while it had no ready pod), already
   * counted in `requests`, `errorRate` and `errorRateRequests`; named in the message.
   */
  noHealthyUpstream?: number;
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

  const { errorRate, p99Ms, slowShare } = measured;
  /** A value above its limit: a breach when its share is beyond sampling noise, else neither breach nor pass. */
  const judgeAbove = (
    breach: Finding,
    share: QueryValue,
    shareLimit: number,
    shown: string,
    of: number = requests,
  ) => {
    if (isNoValue(share)) missing.push(`slow requests: ${share.reason}`);
    // A share outside [0, 1] has no noise bound (it would come out NaN, and NaN is never above the limit).
    else if (!(share >= 0 && share <= 1 && of > 0))
      missing.push(`${shown} but it is not a share of ${of} requests`);
    else if (shareAboveLimitBeyondNoise(share, of, shareLimit)) failures.push(breach);
    else missing.push(`${shown} but within sampling noise of ${Math.round(of)} requests`);
  };

  if (isNoValue(errorRate)) missing.push(`error rate: ${errorRate.reason}`);
  else if (errorRate > spec.thresholds.maxErrorRate) {
    const limit = spec.thresholds.maxErrorRate;
    const unanswered = measured.noHealthyUpstream
      ? ` (${Math.round(measured.noHealthyUpstream)} requests failed with 503 "no healthy upstream": no canary pod was ready)`
      : '';
    const above = `${formatPercent(errorRate)} is above the limit ${formatPercent(limit)}${unanswered}`;
    judgeAbove(
      { metric: 'errorRate', value: errorRate, limit, message: `canary error rate ${above}` },
      errorRate,
      limit,
      `error rate ${above}`,
      measured.errorRateRequests,
    );
  }

  if (p99Ms === undefined) {
    // not measured by this metrics provider
  } else if (isNoValue(p99Ms)) missing.push(`P99: ${p99Ms.reason}`);
  else if (p99Ms > spec.thresholds.maxP99LatencyMs) {
    // P99 above the limit means more than 1% of the requests are slower than it: judged like the error rate,
    // so that on a few dozen requests one slow outlier is not taken for a slow canary.
    const limit = spec.thresholds.maxP99LatencyMs;
    const above = `${formatMs(p99Ms)} is above the limit ${formatMs(limit)}`;
    judgeAbove(
      { metric: 'p99Latency', value: p99Ms, limit, message: `canary P99 latency ${above}` },
      slowShare,
      0.01,
      `P99 ${above}`,
    );
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

// One-sided 99% normal quantile for the Wilson score bound below.
const Z_99 = 2.326;

/**
 * A share (5xx, or requests slower than a latency limit) is above its limit beyond sampling noise when the lower
 * end of its one-sided 99% Wilson score interval (Wilson 1927) is above the limit. A plain `measured > limit`
 * fails a healthy canary on one stray error or slow request among its first 1/limit requests; a 5% canary
 * against a 1% limit still fails after about 40 requests.
 */
export function shareAboveLimitBeyondNoise(share: number, requests: number, limit: number): boolean {
  const n = requests;
  const z2 = Z_99 * Z_99;
  const centre = share + z2 / (2 * n);
  const spread = Z_99 * Math.sqrt((share * (1 - share)) / n + z2 / (4 * n * n));
  return (centre - spread) / (1 + z2 / n) > limit;
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
    ...(measured.p99Ms === undefined || isNoValue(measured.p99Ms) ? {} : { p99Ms: measured.p99Ms }),
    metrics,
  };
}
