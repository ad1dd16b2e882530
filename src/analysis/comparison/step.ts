import type { ComparisonStep, WorkloadSeriesQuery, WorkloadValueQuery } from '../analyzer.js';
import { workloadRead, type WorkloadRead } from '../batch/workload-read.js';
import { isNoValue } from '../prometheus.js';
import { noHealthyUpstreamIsCanary, noHealthyUpstreamSelector } from '../no-healthy-upstream.js';
import { bucketAt } from '../promql.js';
import { metricsProviderOf, type MetricsProvider } from '../providers/index.js';
import { anyOf, withMatchers } from '../providers/provider.js';
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
// check time (not increase(), whose extrapolated fractional counts the exact test does not model), in the metrics
// of the Rollout's mesh (providers/).

// One series per pod: a pod's counters reset together when it restarts, so their sum is still a counter.
const PER_POD = 'sum by (pod, instance)';
/** The same in the labels the provider's pods are told apart by. */
const perPod = (provider: MetricsProvider) => `sum by (${provider.podLabels})`;

/** `@ <unix seconds>`: evaluates a selector at another instant than the query's. */
const atModifier = (at: Date | undefined) => (at ? ` @ ${(at.getTime() / 1000).toFixed(3)}` : '');

type CounterQueries = Record<'requests' | 'errors' | 'slow' | 'callerRequests' | 'callerErrors', string>;

/**
 * PromQL for one arm's cumulative counters per pod: requests, failures, and requests slower than `edgeMs` as its
 * servers count them, and requests and failures as its callers count them (per calling pod), in the mesh's metrics.
 * A query the mesh cannot answer (no callers' reports, no histogram) is undefined.
 */
export function counterQueries(
  provider: MetricsProvider,
  namespace: string,
  workload: string,
  edgeMs: number,
  at?: Date,
): Partial<CounterQueries> & Pick<CounterQueries, 'requests' | 'errors'> {
  const instant = atModifier(at);
  const pods = perPod(provider);
  const { served, callers, duration } = provider;
  // `le` is "500" in Prometheus 2.x and "500.0" in 3.x (bucket-label.ts), and in the histogram's own unit.
  const bucket = (edge: number) =>
    `max without (le) (${withMatchers(duration!.buckets(namespace, workload), bucketAt(duration!, edge))}${instant})`;
  return {
    requests: `${pods} (${served.requests(namespace, workload)}${instant})`,
    errors: `${pods} (${anyOf(served.errors(namespace, workload).map((errors) => `${errors}${instant}`))})`,
    ...(duration && { slow: `${pods} (${bucket(Infinity)}) - ${pods} (${bucket(edgeMs)})` }),
    ...(callers && {
      callerRequests: `${pods} (${callers.requests(namespace, workload)}${instant})`,
      callerErrors: `${pods} (${anyOf(callers.errors(namespace, workload).map((errors) => `${errors}${instant}`))})`,
    }),
  };
}

/** PromQL for the callers' requests to `host` that no pod answered (no-healthy-upstream.ts), per calling pod. */
export function noHealthyUpstreamQuery(namespace: string, host: string, at?: Date): string {
  return `${PER_POD} (istio_requests_total{${noHealthyUpstreamSelector(namespace, host)}}${atModifier(at)})`;
}

/** noHealthyUpstreamQuery as a read that batches with other services' of the namespace, by the service's name. */
function unansweredRead(namespace: string, host: string, at?: Date): WorkloadRead {
  const [service = host, hostNamespace = namespace] = host.split('.');
  const build = (name: string) => noHealthyUpstreamQuery(namespace, `${name}.${hostNamespace}`, at);
  return workloadRead(build, service, 'destination_service_name', PER_POD);
}

const BY_BUCKET = 'sum by (le)';

/**
 * Stable's P99 (ms) over the hour before `before`, interpolated inside the buckets (undefined without a histogram),
 * as a read that batches with other workloads' (grouped by the histogram's workload label).
 */
function stableP99BeforeRead(
  provider: MetricsProvider,
  namespace: string,
  workload: string,
  before: Date,
): WorkloadRead | undefined {
  const duration = provider.duration;
  if (!duration) return undefined;
  const build = (of: string) => {
    const quantile = `histogram_quantile(0.99, ${BY_BUCKET} (increase(${duration.buckets(namespace, of)}[1h]${atModifier(before)})))`;
    return duration.msPerUnit === 1 ? quantile : `${quantile} * ${duration.msPerUnit}`;
  };
  return workloadRead(build, workload, duration.workloadLabel, BY_BUCKET);
}

/**
 * PromQL for stable's requests and failures per pod over POD_HISTORY_SECONDS before `before`, as its servers count
 * them. Istio's own labels name only the workload; the scrape adds the pod it read (`pod` from Kubernetes pod
 * discovery, `instance` its address), which for reporter="destination" is the pod that answered; each provider
 * names its own pod labels. As reads that batch with other workloads' (grouped by the served metrics' workload label).
 */
function stablePodHistoryReads(
  provider: MetricsProvider,
  namespace: string,
  workload: string,
  before: Date,
): Record<'requests' | 'errors', WorkloadRead> {
  const window = `[${POD_HISTORY_SECONDS}s]${atModifier(before)}`;
  const pods = perPod(provider);
  const { served } = provider;
  const requests = (of: string) => `${pods} (increase(${served.requests(namespace, of)}${window}))`;
  const errors = (of: string) =>
    `${pods} (${anyOf(served.errors(namespace, of).map((errors) => `increase(${errors}${window})`))})`;
  return {
    requests: workloadRead(requests, workload, served.workloadLabel, pods),
    errors: workloadRead(errors, workload, served.workloadLabel, pods),
  };
}

async function readSeries(
  readWorkload: WorkloadSeriesQuery,
  read: WorkloadRead,
  whose: string,
): Promise<CounterSnapshot> {
  const values = await readWorkload(read);
  if (isNoValue(values)) throw new Error(`reading the counters of ${whose}: ${values.reason}`);
  return values;
}

/**
 * counterQueries as reads that batch with the same reads of other workloads (batch/): each query is grouped by the
 * label its provider names the workload with.
 */
export function counterReads(
  provider: MetricsProvider,
  namespace: string,
  workload: string,
  edgeMs: number,
  at?: Date,
): Partial<Record<keyof CounterQueries, WorkloadRead>> {
  const labels: Record<keyof CounterQueries, string | undefined> = {
    requests: provider.served.workloadLabel,
    errors: provider.served.workloadLabel,
    slow: provider.duration?.workloadLabel,
    callerRequests: provider.callers?.workloadLabel,
    callerErrors: provider.callers?.workloadLabel,
  };
  const build = (name: keyof CounterQueries) => (of: string) =>
    counterQueries(provider, namespace, of, edgeMs, at)[name]!;
  const present = Object.keys(counterQueries(provider, namespace, workload, edgeMs, at));
  return Object.fromEntries(
    (present as (keyof CounterQueries)[]).map((name) => [
      name,
      workloadRead(build(name), workload, labels[name], perPod(provider)),
    ]),
  );
}

async function readArm(
  readWorkload: WorkloadSeriesQuery,
  provider: MetricsProvider,
  namespace: string,
  workload: string,
  edgeMs: number,
  at?: Date,
): Promise<ArmReading> {
  const q = counterReads(provider, namespace, workload, edgeMs, at);
  const read = (one: WorkloadRead | undefined) =>
    one === undefined ? Promise.resolve(undefined) : readSeries(readWorkload, one, workload);
  const [requests, errors, slow, callerRequests, callerErrors] = await Promise.all(
    [q.requests, q.errors, q.slow, q.callerRequests, q.callerErrors].map(read),
  );
  return {
    requests: requests!,
    errors: errors!,
    // Without a latency histogram no request is known to be slow: the slow guard sees none.
    slow: slow ?? Object.fromEntries(Object.keys(requests!).map((series) => [series, 0])),
    ...(callerRequests && callerErrors && { callers: { requests: callerRequests, errors: callerErrors } }),
  };
}

async function readCounters(
  request: CheckRequest,
  readWorkload: WorkloadSeriesQuery,
  edgeMs: number,
  at?: Date,
): Promise<CounterReading> {
  const provider = metricsProviderOf(request.analysis);
  const [canary, stable, unanswered] = await Promise.all([
    readArm(readWorkload, provider, request.namespace, request.canaryWorkload, edgeMs, at),
    readArm(readWorkload, provider, request.namespace, request.stableWorkload, edgeMs, at),
    request.serviceHost === undefined || !provider.reportsUnanswered
      ? Promise.resolve(undefined)
      : readSeries(
          readWorkload,
          unansweredRead(request.namespace, request.serviceHost, at),
          `the callers of ${request.serviceHost}`,
        ),
  ]);
  return {
    at: at ?? request.at,
    canary: { ...canary, ...(unanswered && { unanswered }) },
    stable,
    ...(noHealthyUpstreamIsCanary(request.readyPods) ? { unansweredAreCanary: true } : {}),
    ...(request.mirrored ? { mirrored: true } : {}),
  };
}

/** Where the first check reads its baseline and stable's history (rollout/checks.ts baselineAtMs). */
const baselineAtOf = (request: CheckRequest) => request.baselineAt ?? request.stepStartedAt;

/** The spread of stable's pods before the step started; undefined when Prometheus holds no per-pod history. */
async function stablePodSpread(
  request: CheckRequest,
  readWorkload: WorkloadSeriesQuery,
): Promise<PodSpread | undefined> {
  const q = stablePodHistoryReads(
    metricsProviderOf(request.analysis),
    request.namespace,
    request.stableWorkload,
    baselineAtOf(request),
  );
  const [requests, errors] = await Promise.all([readWorkload(q.requests), readWorkload(q.errors)]);
  // Unreachable or failing Prometheus: try again at the next check rather than start without the spread.
  for (const value of [requests, errors]) {
    if (isNoValue(value) && (value.kind === 'unreachable' || value.kind === 'error')) {
      throw new Error(`reading the history of ${request.stableWorkload}'s pods: ${value.reason}`);
    }
  }
  if (isNoValue(requests)) return undefined;
  return podSpreadOf(requests, isNoValue(errors) ? {} : errors);
}

async function slowEdgeFor(request: CheckRequest, readValue: WorkloadValueQuery): Promise<SlowEdge> {
  const { comparison, thresholds } = request.analysis;
  const provider = metricsProviderOf(request.analysis);
  const edges = provider.duration?.edgesMs;
  if (comparison.slowRequestMs !== undefined) {
    return chooseSlowEdge(comparison.slowRequestMs, undefined, thresholds.maxP99LatencyMs, edges);
  }
  const read = stableP99BeforeRead(
    provider,
    request.namespace,
    request.stableWorkload,
    baselineAtOf(request),
  );
  if (read === undefined) return chooseSlowEdge(undefined, undefined, thresholds.maxP99LatencyMs, edges);
  const p99 = await readValue(read);
  // Unreachable or failing Prometheus: try again at the next check rather than settle on the fallback.
  if (isNoValue(p99) && (p99.kind === 'unreachable' || p99.kind === 'error')) {
    throw new Error(`reading stable's latency before the rollout: ${p99.reason}`);
  }
  return chooseSlowEdge(undefined, isNoValue(p99) ? undefined : p99, thresholds.maxP99LatencyMs, edges);
}

/**
 * The comparison step the analyzer runs by default. At the first check it picks the slow-request edge and reads the
 * counters at the baseline instant (`request.baselineAt`, at or before the step's start); at every check it reads
 * them at the check time and feeds the increments to the e-process (compareCounters). Every read batches with the
 * same reads of other Rollouts checked at the same instant. Prometheus errors throw: the analyzer turns them into an
 * inconclusive check and keeps the stored state.
 */
export const compareWithStable: ComparisonStep = async (request, { readWorkload, readValue }) => {
  const settings = {
    falseRollbackRate: request.analysis.comparison.falseRollbackRate,
    tolerance: request.analysis.comparison.tolerance,
    canaryWorkload: request.canaryWorkload,
    stableWorkload: request.stableWorkload,
  };
  let stored = parseStoredComparison(request.comparison);
  if (!stored) {
    const edge = await slowEdgeFor(request, readValue);
    const baselineAt = baselineAtOf(request);
    const baseline =
      baselineAt < request.at ? await readCounters(request, readWorkload, edge.ms, baselineAt) : undefined;
    stored = startComparison(edge, baseline, await stablePodSpread(request, readWorkload));
  }
  return compareCounters(stored, await readCounters(request, readWorkload, stored.slowEdge.ms), settings);
};
