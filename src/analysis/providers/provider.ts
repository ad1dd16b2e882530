// What the analysis needs to know of a mesh's metrics: which series count a workload's requests and failures, where
// its latency histogram is and in which unit. The query builders (promql.ts, comparison/step.ts) take one of these
// and wrap its selectors; no builder names a mesh's metric family itself.

/** The meshes whose metrics Stepwise reads (analysis.metricsProvider). */
export const METRICS_PROVIDERS = ['istio', 'istio-ambient', 'linkerd', 'cilium', 'custom'] as const;
export type MetricsProviderName = (typeof METRICS_PROVIDERS)[number];

/** A PromQL vector selector, `metric{matchers}`: the only shape that takes the `@` modifier the builders add. */
export type Selector = string;

/** Selectors of one workload's series, as one side of the request (its servers, or its callers) reports them. */
export interface ReportedRequests {
  /** Every request (each response, whatever its status). */
  requests(namespace: string, workload: string): Selector;
  /**
   * The requests the mesh counts as failed (5xx, or its own classification): one selector or more, a series that
   * several select counted once (`anyOf`).
   */
  errors(namespace: string, workload: string): Selector[];
  /**
   * The label whose value is the workload in these selectors (`destination_workload`), for reading the counters of
   * several workloads in one query grouped by it (batch/); undefined when the workload is not one label's value.
   */
  workloadLabel?: string;
}

/** The series any of `vectors` has, each once: PromQL `or` keeps a label set of the right side only if new. */
export function anyOf(vectors: string[]): string {
  return vectors.length === 1 ? vectors[0]! : vectors.map((vector) => `(${vector})`).join(' or ');
}

export interface DurationHistogram {
  /** The `_bucket` series of the workload's request duration histogram, as its servers report it. */
  buckets(namespace: string, workload: string): Selector;
  /** Milliseconds per unit of the histogram's `le`: 1 for `_milliseconds`, 1000 for `_seconds`. */
  msPerUnit: number;
  /** The histogram's bucket edges in ms, for the slow-request edge; undefined when the user's buckets are unknown. */
  edgesMs?: readonly number[];
  /** As ReportedRequests.workloadLabel. */
  workloadLabel?: string;
}

export interface MetricsProvider {
  name: MetricsProviderName;
  /** As the workload's own servers report them: every attempt that reached a pod. */
  served: ReportedRequests;
  /** As its callers report them, each request once after retries; undefined when the callers report nothing. */
  callers?: ReportedRequests;
  /** Undefined when the mesh exports no latency histogram (a custom provider without one). */
  duration?: DurationHistogram;
  /** The labels that tell apart the series of the pods that answered, for the per-pod counters. */
  podLabels: string;
  /** The callers report the requests no pod answered (Istio's 503 "no healthy upstream") under the service name. */
  reportsUnanswered: boolean;
}

/** `selector` with more matchers: `m{a="1"}` and `b="2"` give `m{a="1", b="2"}`. */
export function withMatchers(selector: Selector, ...matchers: string[]): Selector {
  const closing = selector.lastIndexOf('}');
  const inside = selector.slice(selector.indexOf('{') + 1, closing).trim();
  return `${selector.slice(0, selector.indexOf('{'))}{${[...(inside ? [inside] : []), ...matchers].join(', ')}}`;
}
