import { leMatcher } from './bucket-label.js';
import { ENVOY_BUCKETS_MS } from './comparison/slow-edge.js';
import { anyOf, withMatchers, type DurationHistogram, type MetricsProvider } from './providers/provider.js';

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

/** Whose reports of a workload's requests: its own servers' (every attempt) or its callers' (one per request). */
export type ReportedBy = 'servers' | 'callers';

export interface WindowQuery {
  namespace: string;
  workload: string;
  /** Whose metrics: the mesh's (providers/), with their names, labels and units. */
  provider: MetricsProvider;
  /** Whose reports: the workload's servers (default) or its callers'; a provider without callers' reports has none. */
  reporter?: ReportedBy;
  /** Start of the window (the step's start); it ends at the evaluation time. */
  since: Date;
}

/** The requests and failures of the workload as `reporter` reports them, or undefined when it reports none. */
export function reported({ provider, reporter }: Pick<WindowQuery, 'provider' | 'reporter'>) {
  return reporter === 'callers' ? provider.callers : provider.served;
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

// A provider without the reports (callers' of a mesh whose callers report nothing, latency of a custom provider without
// a histogram) gets a query that selects nothing: the analysis reads it as no data, as it would an empty mesh.
const NOTHING = 'vector(0) unless vector(0)';

/**
 * The threshold queries aggregate with `sum by ()` (the same as `sum`): batch/workload-read.ts adds the workload label
 * to it, so that the Rollouts judged at one instant over the same window share one query per family.
 */
export const WHOLE = 'sum by ()';
/** How the P99 query aggregates its buckets (see WHOLE). */
export const BY_BUCKET = 'sum by (le)';

/** Requests the workload served in the window. */
export function requestsQuery(window: WindowQuery): string {
  const side = reported(window);
  if (!side) return NOTHING;
  return `${WHOLE} (${growthSince(side.requests(window.namespace, window.workload), window.since)})`;
}

/**
 * Share of failed responses in the window. A workload that never failed may have no failure series at all (Istio
 * creates its 5xx series at the first one), so the numerator falls back to 0; without traffic the denominator is
 * empty and so is the result.
 */
export function errorRateQuery(window: WindowQuery): string {
  const side = reported(window);
  if (!side) return NOTHING;
  const { namespace, workload, since } = window;
  const requests = `${WHOLE} (${growthSince(side.requests(namespace, workload), since)})`;
  // `0 * requests` rather than vector(0): it keeps the workload label when the query is batched.
  return (
    `(${WHOLE} (${anyOf(side.errors(namespace, workload).map((errors) => growthSince(errors, since)))}) or 0 * ${requests})` +
    ` / ${requests}`
  );
}

/** 99th percentile latency in ms over the window, interpolated inside the histogram buckets (in the mesh's unit). */
export function p99LatencyQuery({ namespace, workload, since, provider }: WindowQuery): string {
  const duration = provider.duration;
  if (!duration) return NOTHING;
  const quantile = `histogram_quantile(0.99, ${BY_BUCKET} (${growthSince(duration.buckets(namespace, workload), since)}))`;
  return duration.msPerUnit === 1 ? quantile : `${quantile} * ${duration.msPerUnit}`;
}

/**
 * The bucket edge used to count requests slower than a latency limit: the largest edge of the mesh's histogram at or
 * below the limit (500 for 500), so that the count never misses a request slower than the limit.
 */
export function latencyLimitEdge(limitMs: number, edgesMs: readonly number[] = ENVOY_BUCKETS_MS): number {
  return [...edgesMs].reverse().find((edge) => edge <= limitMs) ?? edgesMs[0]!;
}

/** `le` matchers of the bucket whose edge is `edgeMs`, in the histogram's own unit and every spelling of it. */
export function bucketAt(duration: DurationHistogram, edgeMs: number): string {
  return leMatcher(edgeMs === Infinity ? Infinity : edgeMs / duration.msPerUnit);
}

/** Share of the window's requests slower than `edgeMs` (a bucket edge): 1 − bucket{le=edge} / bucket{le=+Inf}. */
export function slowShareQuery(
  { namespace, workload, since, provider }: WindowQuery,
  edgeMs: number,
): string {
  const duration = provider.duration;
  if (!duration) return NOTHING;
  // `le` is "500" in Prometheus 2.x and "500.0" in 3.x (bucket-label.ts); growth per series, then one per spelling.
  const bucket = (edge: number) =>
    `${WHOLE} (max without (le) (${growthSince(withMatchers(duration.buckets(namespace, workload), bucketAt(duration, edge)), since)}))`;
  return `1 - ${bucket(edgeMs)} / ${bucket(Infinity)}`;
}
