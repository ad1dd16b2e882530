import {
  BY_BUCKET,
  errorRateQuery,
  latencyLimitEdge,
  p99LatencyQuery,
  reported,
  requestsQuery,
  slowShareQuery,
  WHOLE,
  type WindowQuery,
} from './promql.js';
import { renderMetricQuery } from './metric-template.js';
import { metricsProviderOf } from './providers/index.js';
import { compareWithStable } from './comparison/step.js';
import { noHealthyUpstreamIsCanary, noHealthyUpstreamSinceQuery } from './no-healthy-upstream.js';
import { withinDomain } from './domain.js';
import {
  createPrometheusClient,
  isNoValue,
  noValue,
  type AnalysisLogger,
  type NoValue,
  type PrometheusClientOptions,
  type QueryValue,
  type SeriesValues,
} from './prometheus.js';
import { formatDuration } from '../api/duration.js';
import { evaluateThresholds } from './thresholds.js';
import { createSeriesBatcher, type SeriesBatcherOptions } from './batch/series-batcher.js';
import { workloadRead, type WorkloadRead } from './batch/workload-read.js';
import type { CanaryAnalyzer, CheckRequest, CheckResult } from './types.js';

/** Evaluates PromQL at the check time and keeps every series of the result. */
export type SeriesQuery = (promql: string) => Promise<SeriesValues | NoValue>;

/** Reads one workload's series at the check time, in one query with the same reads of other checks (batch/). */
export type WorkloadSeriesQuery = (read: WorkloadRead) => Promise<SeriesValues | NoValue>;

/** Reads one workload's number at the check time, batched as WorkloadSeriesQuery. */
export type WorkloadValueQuery = (read: WorkloadRead) => Promise<QueryValue>;

/**
 * How a comparison step reads Prometheus. `query` and `querySeries` evaluate PromQL at `request.at` with the
 * Rollout's Prometheus (escaping is the caller's job: use the builders of promql.ts); `readWorkload` and `readValue`
 * too, batched with the same reads of other checks at the same instant (batch/).
 */
export interface ComparisonReads {
  query: (promql: string) => Promise<QueryValue>;
  querySeries: SeriesQuery;
  readWorkload: WorkloadSeriesQuery;
  readValue: WorkloadValueQuery;
}

/**
 * The canary-vs-stable comparison, run after the thresholds when `analysis.comparison.enabled`. Its result is
 * merged into the check; a `decisive` fail wins.
 */
export type ComparisonStep = (request: CheckRequest, reads: ComparisonReads) => Promise<Partial<CheckResult>>;

/**
 * Longest a check may wait for Prometheus; then its queries are aborted and it is inconclusive. A slow or
 * hanging Prometheus of one Rollout thus holds a worker for seconds, not for as long as its retries last.
 */
export const DEFAULT_CHECK_BUDGET_MS = 15_000;

export interface PrometheusAnalyzerOptions extends Omit<PrometheusClientOptions, 'signal'> {
  /** Time budget of one check (default 15 s). */
  budgetMs?: number;
  /** Default: the sequential canary-vs-stable test (comparison/step.ts); `false` judges thresholds only. */
  comparison?: ComparisonStep | false;
  logger?: AnalysisLogger;
  /** How the threshold and counter reads of checks at the same instant share queries; `false` sends each alone. */
  batch?: Pick<SeriesBatcherOptions, 'windowMs' | 'maxWorkloads' | 'maxRegexChars' | 'rememberMs'> | false;
}

/** Reads the canary's mesh metrics (analysis.metricsProvider) from the Rollout's Prometheus and judges them against the spec. */
export function createPrometheusAnalyzer(options: PrometheusAnalyzerOptions = {}): CanaryAnalyzer {
  const batcher = options.batch === false ? undefined : createSeriesBatcher({ ...options, ...options.batch });
  return {
    async check(request) {
      const budgetMs = options.budgetMs ?? DEFAULT_CHECK_BUDGET_MS;
      const budget = new AbortController();
      const timer = setTimeout(() => {
        const why = `the check's time budget of ${formatDuration(budgetMs)} ran out before Prometheus answered`;
        budget.abort(new Error(why));
      }, budgetMs);
      timer.unref?.();
      try {
        const signal = request.signal ? AbortSignal.any([budget.signal, request.signal]) : budget.signal;
        return await runCheck(request, signal);
      } finally {
        clearTimeout(timer);
      }
    },
  };

  async function runCheck(request: CheckRequest, signal: AbortSignal): Promise<CheckResult> {
    const client = createPrometheusClient(request.prometheus, { ...options, signal });
    const query = (promql: string) => client.query(promql, request.at);
    const querySeries = (promql: string) => client.querySeries(promql, request.at);
    const readWorkload: WorkloadSeriesQuery = (read) =>
      batcher ? batcher.read(request.prometheus, request.at, read, signal) : querySeries(read.promql);
    const readValue: WorkloadValueQuery = (read) =>
      batcher ? batcher.readValue(request.prometheus, request.at, read, signal) : query(read.promql);
    const comparison = options.comparison === undefined ? compareWithStable : options.comparison;

    const measured = await measureCanary(request, query, readValue);
    const thresholds = evaluateThresholds(measured, request.analysis);
    const result =
      comparison && request.analysis.comparison.enabled
        ? mergeComparison(
            thresholds,
            await runComparison(
              comparison,
              request,
              { query, querySeries, readWorkload, readValue },
              options.logger,
            ),
          )
        : { ...thresholds, comparison: request.comparison };

    options.logger?.debug('canary check', {
      namespace: request.namespace,
      canary: request.canaryWorkload,
      verdict: result.verdict,
      requests: result.requests,
      errorRate: result.errorRate,
      p99Ms: result.p99Ms,
      failures: result.failures.map((finding) => finding.message),
      inconclusive: result.inconclusive,
    });
    return result;
  }
}

async function measureCanary(
  request: CheckRequest,
  query: (promql: string) => Promise<QueryValue>,
  readValue: WorkloadValueQuery,
) {
  const since = request.windowStartedAt ?? request.stepStartedAt;
  const windowMs = request.at.getTime() - since.getTime();
  const metricQueries = request.analysis.metrics.map(async (metric): Promise<[string, QueryValue]> => {
    if (windowMs <= 0) return [metric.name, stepJustStarted];
    try {
      const promql = renderMetricQuery(metric.query, {
        namespace: request.namespace,
        canary: request.canaryWorkload,
        stable: request.stableWorkload,
        windowMs,
      });
      return [metric.name, await query(promql)];
    } catch (error) {
      return [metric.name, noValue('invalid-query', userFacing(error))];
    }
  });

  const provider = metricsProviderOf(request.analysis);
  const window = { namespace: request.namespace, workload: request.canaryWorkload, provider, since };
  const measure = (promql: string) => (windowMs > 0 ? query(promql) : Promise.resolve(stepJustStarted));
  // Batched with the same reads of the namespace's other Rollouts at this instant over the same window (batch/).
  const measureRead = (
    build: (window: WindowQuery) => string,
    of: WindowQuery,
    label: string | undefined,
    grouping: string,
  ) => {
    if (windowMs <= 0) return Promise.resolve(stepJustStarted);
    return readValue(workloadRead((workload) => build({ ...of, workload }), of.workload, label, grouping));
  };
  const edge = latencyLimitEdge(request.analysis.thresholds.maxP99LatencyMs, provider.duration?.edgesMs);
  const callers = { ...window, reporter: 'callers' as const };
  // Only Istio's sidecars report the requests no pod answered (503 "no healthy upstream") under the service.
  const unansweredQuery =
    provider.reportsUnanswered &&
    !request.mirrored &&
    request.serviceHost !== undefined &&
    noHealthyUpstreamIsCanary(request.readyPods)
      ? noHealthyUpstreamSinceQuery(request.namespace, request.serviceHost, since)
      : undefined;
  const [requests, errorRate, p99Ms, slowShare, metrics, callerRequests, callerErrorRate, unanswered] =
    await Promise.all([
      measureRead(requestsQuery, window, reported(window)?.workloadLabel, WHOLE),
      measureRead(errorRateQuery, window, reported(window)?.workloadLabel, WHOLE),
      measureRead(p99LatencyQuery, window, provider.duration?.workloadLabel, BY_BUCKET),
      measureRead((of) => slowShareQuery(of, edge), window, provider.duration?.workloadLabel, WHOLE),
      Promise.all(metricQueries),
      measureRead(requestsQuery, callers, reported(callers)?.workloadLabel, WHOLE),
      measureRead(errorRateQuery, callers, reported(callers)?.workloadLabel, WHOLE),
      unansweredQuery === undefined ? Promise.resolve(undefined) : measure(unansweredQuery),
    ]);
  const served = withinDomain(requests, 'count', 'canary requests');
  const judged = request.mirrored
    ? { errorRate: withinDomain(errorRate, 'ratio', 'error rate') }
    : callersOrAttempts(errorRate, callerRequests, callerErrorRate);
  const failed = unanswered === undefined ? 0 : withinDomain(unanswered, 'count', 'unanswered requests');
  // No UH series yet is "none", not missing data; other answers that are no value leave the rate as it is.
  // A mesh without a latency histogram (a custom provider without durationBuckets): P99 is not judged.
  const common = {
    ...(provider.duration && { p99Ms: withinDomain(p99Ms, 'milliseconds', 'P99') }),
    slowShare: withinDomain(slowShare, 'ratio', 'share of slow requests'),
    metrics: Object.fromEntries(metrics),
  };
  if (isNoValue(failed) || failed === 0) {
    return { requests: served, ...judged, ...common };
  }
  return {
    requests: isNoValue(served) ? failed : served + failed,
    ...withUnansweredRequests(judged, served, failed),
    noHealthyUpstream: failed,
    ...common,
  };
}

/**
 * The error rate with `failed` requests that no canary pod answered added to its requests and failures: of the
 * callers' requests when they report, else of the attempts the canary served (or of those requests alone).
 */
function withUnansweredRequests(
  judged: { errorRate: QueryValue; errorRateRequests?: number },
  served: QueryValue,
  failed: number,
): { errorRate: QueryValue; errorRateRequests: number } {
  const of = judged.errorRateRequests ?? (isNoValue(served) ? 0 : served);
  const rate = isNoValue(judged.errorRate) || of === 0 ? 0 : judged.errorRate;
  return { errorRate: (rate * of + failed) / (of + failed), errorRateRequests: of + failed };
}

/**
 * The error rate the thresholds judge: as the callers saw it when they report it (each request once, whatever Istio
 * retried; judging attempts would count a failing request up to three times and call that beyond sampling noise),
 * else the share of 5xx attempts the canary's sidecar served.
 */
function callersOrAttempts(
  attempts: QueryValue,
  callerRequests: QueryValue,
  callerErrorRate: QueryValue,
): { errorRate: QueryValue; errorRateRequests?: number } {
  const requests = withinDomain(callerRequests, 'count', "callers' requests");
  const rate = withinDomain(callerErrorRate, 'ratio', "callers' error rate");
  if (isNoValue(requests) || requests === 0 || isNoValue(rate)) {
    return { errorRate: withinDomain(attempts, 'ratio', 'error rate') };
  }
  return { errorRate: rate, errorRateRequests: requests };
}

// The window ends where it starts: nothing could have been measured yet.
const stepJustStarted = noValue('empty', 'no data (the step has just started)');

async function runComparison(
  comparison: ComparisonStep,
  request: CheckRequest,
  reads: ComparisonReads,
  logger: AnalysisLogger | undefined,
): Promise<Partial<CheckResult>> {
  try {
    return await comparison(request, reads);
  } catch (error) {
    logger?.warn('canary comparison failed', {
      namespace: request.namespace,
      error: (error as Error).message,
      stack: (error as Error).stack,
    });
    // Keep the stored evidence: a failed comparison must not reset what earlier checks accumulated.
    return {
      verdict: 'inconclusive',
      inconclusive: [`comparison: ${userFacing(error)}`],
      comparison: request.comparison,
    };
  }
}

// These come from a bug, not from the user's data: status says so, and the log keeps the JavaScript text.
const INTERNAL_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

/** The error's message when it was written for users, else a sentence that sends them to the log. */
function userFacing(error: unknown): string {
  if (error instanceof Error && !INTERNAL_ERRORS.some((kind) => error instanceof kind)) return error.message;
  return 'could not be computed (an internal error; the controller log has the details)';
}

/** Thresholds and comparison as one check: a decisive comparison fail, else thresholds first, then the comparison. */
export function mergeComparison(thresholds: CheckResult, comparison: Partial<CheckResult>): CheckResult {
  const decisive = comparison.verdict === 'fail' && comparison.decisive === true;
  const verdict = decisive
    ? 'fail'
    : thresholds.verdict !== 'pass'
      ? thresholds.verdict
      : (comparison.verdict ?? 'pass');
  const failures = verdict === 'fail' ? [...thresholds.failures, ...(comparison.failures ?? [])] : [];
  const inconclusive =
    verdict === 'inconclusive' ? [...thresholds.inconclusive, ...(comparison.inconclusive ?? [])] : [];
  return {
    ...thresholds,
    verdict,
    ...(decisive ? { decisive: true } : {}),
    metrics: { ...thresholds.metrics, ...comparison.metrics },
    ...(comparison.evidence !== undefined ? { evidence: comparison.evidence } : {}),
    ...(comparison.rateRatio !== undefined ? { rateRatio: comparison.rateRatio } : {}),
    comparison: comparison.comparison,
    failures,
    inconclusive,
  };
}
