import { leMatcher } from './bucket-label.js';
import { ENVOY_BUCKETS_MS } from './comparison/slow-edge.js';

// PromQL text built from cluster values. Namespaces and workload names are escaped before they
// enter a query (DESIGN §3.8), so a hostile name can only ever select nothing.

// PromQL strings, in double or single quotes, follow Go's escaping rules; only the opening quote may be escaped
// inside (prometheus/promql/parser/lex.go, lexEscape).
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** The value escaped for use between quotes in PromQL: `x="<here>"` (or `x='<here>'`). */
export function escapeLabelValue(value: string, quote: '"' | "'" = '"'): string {
  const special = quote === '"' ? /[\\"\n\r\t]/g : /[\\'\n\r\t]/g;
  return value.replace(special, (char) => ESCAPES[char] ?? char);
}

/** The value as a regular expression that matches exactly it (RE2 syntax, as in `=~` matchers). */
export function escapeRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A PromQL range duration in whole milliseconds (Prometheus 2.x accepts `17342ms`); at least 1ms. */
export function promDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms))}ms`;
}

/**
 * Label matchers of one workload's Istio metrics: as its server sidecar reports them (every attempt), or with
 * `source` as its callers' sidecars report them (one per request, after retries).
 */
export function workloadSelector(
  namespace: string,
  workload: string,
  reporter: 'destination' | 'source' = 'destination',
): string {
  return [
    `reporter="${reporter}"`,
    `destination_workload_namespace="${escapeLabelValue(namespace)}"`,
    `destination_workload="${escapeLabelValue(workload)}"`,
  ].join(', ');
}

export interface WindowQuery {
  namespace: string;
  workload: string;
  /** Whose reports: the workload's own sidecars (default) or its callers' (`source`). */
  reporter?: 'destination' | 'source';
  /** Start of the window (the step's start); it ends at the evaluation time. */
  since: Date;
}

/**
 * How much each series of a counter grew since `since`, as exact counts: the value now minus the value at
 * `since`; a series born later (new pods, and the 5xx series Istio creates at a workload's first error) counts
 * in full, and one that went down (its pod restarted) counts from zero. increase() would drop what a series
 * born inside the window counted before its first sample, which hides a new canary's first errors.
 */
export function growthSince(series: string, since: Date): string {
  const at = (since.getTime() / 1000).toFixed(3);
  return `(((${series} - (${series} @ ${at})) >= 0) or ${series})`;
}

/** Requests the workload served in the window. */
export function requestsQuery({ namespace, workload, since, reporter }: WindowQuery): string {
  const sel = workloadSelector(namespace, workload, reporter);
  return `sum(${growthSince(`istio_requests_total{${sel}}`, since)})`;
}

/**
 * Share of 5xx responses in the window. A workload that never answered 5xx has no 5xx series at all,
 * so the numerator falls back to 0; without traffic the denominator is empty and so is the result.
 */
export function errorRateQuery({ namespace, workload, since, reporter }: WindowQuery): string {
  const sel = workloadSelector(namespace, workload, reporter);
  return (
    `(sum(${growthSince(`istio_requests_total{${sel}, response_code=~"5.."}`, since)}) or vector(0))` +
    ` / sum(${growthSince(`istio_requests_total{${sel}}`, since)})`
  );
}

/** 99th percentile latency in ms over the window, interpolated inside the histogram buckets. */
export function p99LatencyQuery({ namespace, workload, since }: WindowQuery): string {
  const sel = workloadSelector(namespace, workload);
  return `histogram_quantile(0.99, sum by (le) (${growthSince(`istio_request_duration_milliseconds_bucket{${sel}}`, since)}))`;
}

/**
 * The bucket edge used to count requests slower than a latency limit: the largest Envoy edge at or below the
 * limit (500 for 500), so that the count never misses a request slower than the limit.
 */
export function latencyLimitEdge(limitMs: number): number {
  return [...ENVOY_BUCKETS_MS].reverse().find((edge) => edge <= limitMs) ?? ENVOY_BUCKETS_MS[0]!;
}

/** Share of the window's requests slower than `edgeMs` (a bucket edge): 1 − bucket{le=edge} / bucket{le=+Inf}. */
export function slowShareQuery({ namespace, workload, since }: WindowQuery, edgeMs: number): string {
  const sel = workloadSelector(namespace, workload);
  // `le` is "500" in Prometheus 2.x and "500.0" in 3.x (bucket-label.ts); growth per series, then one per spelling.
  const bucket = (edge: number) =>
    `sum(max without (le) (${growthSince(`istio_request_duration_milliseconds_bucket{${sel}, ${leMatcher(edge)}}`, since)}))`;
  return `1 - ${bucket(edgeMs)} / ${bucket(Infinity)}`;
}
