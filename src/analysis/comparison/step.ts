import type { ComparisonStep, SeriesQuery } from '../analyzer.js';
import { bucketSeries } from '../bucket-label.js';
import { isNoValue, type QueryValue } from '../prometheus.js';
import { noHealthyUpstreamIsCanary, noHealthyUpstreamSelector } from '../no-healthy-upstream.js';
import { workloadSelector } from '../promql.js';
import type { CheckRequest } from '../types.js';
import {
  compareCounters,
  parseStoredComparison,
  startComparison,
  type ArmReading,
  type CounterReading,
} from './counter-comparison.js';
import type { CounterSnapshot } from './counters.js';
import { POD_HISTORY_SECONDS, podSpreadOf, type PodSpread } from './pod-spread.js';
import { chooseSlowEdge, type SlowEdge } from './slow-edge.js';

// The canary-vs-stable comparison against Prometheus: raw cumulative counters of both arms per pod, read at the
// check time (not increase(), whose extrapolated fractional counts the exact test does not model).

// One series per pod: a pod's counters reset together when it restarts, so their sum is still a counter.
const PER_POD = 'sum by (pod, instance)';

/** `@ <unix seconds>`: evaluates a selector at another instant than the query's. */
const atModifier = (at: Date | undefined) => (at ? ` @ ${(at.getTime() / 1000).toFixed(3)}` : '');

/**
 * PromQL for one arm's cumulative counters per pod: requests, 5xx, and requests slower than `edgeMs` as the server
 * sidecars count them, and requests and 5xx as the callers' sidecars count them (per calling pod).
 */
export function counterQueries(
  namespace: string,
  workload: string,
  edgeMs: number,
  at?: Date,
): Record<'requests' | 'errors' | 'slow' | 'callerRequests' | 'callerErrors', string> {
  const sel = workloadSelector(namespace, workload);
  const callers = workloadSelector(namespace, workload, 'source');
  const instant = atModifier(at);
  // `le` is "500" in Prometheus 2.x and "500.0" in 3.x (bucket-label.ts).
  const bucket = (edge: number) =>
    bucketSeries('istio_request_duration_milliseconds_bucket', sel, edge, instant);
  return {
    requests: `${PER_POD} (istio_requests_total{${sel}}${instant})`,
    errors: `${PER_POD} (istio_requests_total{${sel}, response_code=~"5.."}${instant})`,
    slow: `${PER_POD} (${bucket(Infinity)}) - ${PER_POD} (${bucket(edgeMs)})`,
    callerRequests: `${PER_POD} (istio_requests_total{${callers}}${instant})`,
    callerErrors: `${PER_POD} (istio_requests_total{${callers}, response_code=~"5.."}${instant})`,
  };
}

/** PromQL for the callers' requests to `host` that no pod answered (no-healthy-upstream.ts), per calling pod. */
export function noHealthyUpstreamQuery(namespace: string, host: string, at?: Date): string {
  return `${PER_POD} (istio_requests_total{${noHealthyUpstreamSelector(namespace, host)}}${atModifier(at)})`;
}

/** Stable's P99 (ms) over the hour before `before`, interpolated inside the buckets. */
export function stableP99BeforeQuery(namespace: string, workload: string, before: Date): string {
  const sel = workloadSelector(namespace, workload);
  return `histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{${sel}}[1h]${atModifier(before)})))`;
}

/**
 * PromQL for stable's requests and 5xx per pod over POD_HISTORY_SECONDS before `before`, as the server sidecars count them.
 * Istio's own labels name only the workload; the scrape adds the pod it read (`pod` from Kubernetes pod discovery,
 * `instance` its address), which for reporter="destination" is the pod that answered, as PER_POD uses it.
 */
export function stablePodHistoryQueries(
  namespace: string,
  workload: string,
  before: Date,
): Record<'requests' | 'errors', string> {
  const sel = workloadSelector(namespace, workload);
  const window = `[${POD_HISTORY_SECONDS}s]${atModifier(before)}`;
  return {
    requests: `${PER_POD} (increase(istio_requests_total{${sel}}${window}))`,
    errors: `${PER_POD} (increase(istio_requests_total{${sel}, response_code=~"5.."}${window}))`,
  };
}

async function readSeries(querySeries: SeriesQuery, promql: string, whose: string): Promise<CounterSnapshot> {
  const values = await querySeries(promql);
  if (isNoValue(values)) throw new Error(`reading the counters of ${whose}: ${values.reason}`);
  return values;
}

async function readArm(
  querySeries: SeriesQuery,
  namespace: string,
  workload: string,
  edgeMs: number,
  at?: Date,
): Promise<ArmReading> {
  const q = counterQueries(namespace, workload, edgeMs, at);
  const [requests, errors, slow, callerRequests, callerErrors] = await Promise.all(
    [q.requests, q.errors, q.slow, q.callerRequests, q.callerErrors].map((promql) =>
      readSeries(querySeries, promql, workload),
    ),
  );
  return {
    requests: requests!,
    errors: errors!,
    slow: slow!,
    callers: { requests: callerRequests!, errors: callerErrors! },
  };
}

async function readCounters(
  request: CheckRequest,
  querySeries: SeriesQuery,
  edgeMs: number,
  at?: Date,
): Promise<CounterReading> {
  const [canary, stable, unanswered] = await Promise.all([
    readArm(querySeries, request.namespace, request.canaryWorkload, edgeMs, at),
    readArm(querySeries, request.namespace, request.stableWorkload, edgeMs, at),
    request.serviceHost === undefined
      ? Promise.resolve(undefined)
      : readSeries(
          querySeries,
          noHealthyUpstreamQuery(request.namespace, request.serviceHost, at),
          `the callers of ${request.serviceHost}`,
        ),
  ]);
  return {
    at: at ?? request.at,
    canary: { ...canary, ...(unanswered && { unanswered }) },
    stable,
    ...(noHealthyUpstreamIsCanary(request.readyPods) ? { unansweredAreCanary: true } : {}),
  };
}

/** The spread of stable's pods before the step started; undefined when Prometheus holds no per-pod history. */
async function stablePodSpread(
  request: CheckRequest,
  querySeries: SeriesQuery,
): Promise<PodSpread | undefined> {
  const q = stablePodHistoryQueries(request.namespace, request.stableWorkload, request.stepStartedAt);
  const [requests, errors] = await Promise.all([querySeries(q.requests), querySeries(q.errors)]);
  // Unreachable or failing Prometheus: try again at the next check rather than start without the spread.
  for (const value of [requests, errors]) {
    if (isNoValue(value) && (value.kind === 'unreachable' || value.kind === 'error')) {
      throw new Error(`reading the history of ${request.stableWorkload}'s pods: ${value.reason}`);
    }
  }
  if (isNoValue(requests)) return undefined;
  return podSpreadOf(requests, isNoValue(errors) ? {} : errors);
}

async function slowEdgeFor(
  request: CheckRequest,
  query: (promql: string) => Promise<QueryValue>,
): Promise<SlowEdge> {
  const { comparison, thresholds } = request.analysis;
  if (comparison.slowRequestMs !== undefined) {
    return chooseSlowEdge(comparison.slowRequestMs, undefined, thresholds.maxP99LatencyMs);
  }
  const p99 = await query(
    stableP99BeforeQuery(request.namespace, request.stableWorkload, request.stepStartedAt),
  );
  // Unreachable or failing Prometheus: try again at the next check rather than settle on the fallback.
  if (isNoValue(p99) && (p99.kind === 'unreachable' || p99.kind === 'error')) {
    throw new Error(`reading stable's latency before the rollout: ${p99.reason}`);
  }
  return chooseSlowEdge(undefined, isNoValue(p99) ? undefined : p99, thresholds.maxP99LatencyMs);
}

/**
 * The comparison step the analyzer runs by default. At the first check it picks the slow-request edge and reads the
 * counters at the step's start as the baseline; at every check it reads them at the check time and feeds the
 * increments to the e-process (compareCounters). Prometheus errors throw: the analyzer turns them into an
 * inconclusive check and keeps the stored state.
 */
export const compareWithStable: ComparisonStep = async (request, query, querySeries) => {
  const settings = {
    falseRollbackRate: request.analysis.comparison.falseRollbackRate,
    tolerance: request.analysis.comparison.tolerance,
    canaryWorkload: request.canaryWorkload,
    stableWorkload: request.stableWorkload,
  };
  let stored = parseStoredComparison(request.comparison);
  if (!stored) {
    const edge = await slowEdgeFor(request, query);
    const baseline =
      request.stepStartedAt < request.at
        ? await readCounters(request, querySeries, edge.ms, request.stepStartedAt)
        : undefined;
    stored = startComparison(edge, baseline, await stablePodSpread(request, querySeries));
  }
  return compareCounters(stored, await readCounters(request, querySeries, stored.slowEdge.ms), settings);
};
