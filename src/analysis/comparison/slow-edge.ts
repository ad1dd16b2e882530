import { formatMs } from '../format.js';

/**
 * Envoy's default histogram bucket edges (ms), which istio_request_duration_milliseconds uses unless the mesh
 * overrides them: HistogramSettingsImpl::defaultBuckets() in envoyproxy/envoy source/common/stats/histogram_impl.cc.
 */
export const ENVOY_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

/** Where the slow-request edge came from. */
export type SlowEdgeSource = 'spec' | 'stable-p99' | 'p99-threshold';

/** The latency above which a request counts as slow; chosen once per rollout and kept in the comparison state. */
export interface SlowEdge {
  /** A bucket edge, so `count - bucket{le=ms}` counts slow requests exactly. */
  ms: number;
  source: SlowEdgeSource;
  /** How the edge was chosen, in words (shown in status). */
  detail: string;
}

/** The smallest bucket edge at or above `ms` (the largest edge when `ms` is above all of them). */
export function bucketEdgeAtOrAbove(ms: number, edges: readonly number[] = ENVOY_BUCKETS_MS): number {
  return edges.find((edge) => edge >= ms) ?? edges[edges.length - 1]!;
}

/**
 * The slow-request edge: the user's `slowRequestMs` when set, else the edge at or above stable's P99 before the
 * rollout, else (stable had no latency data) the edge at or above the P99 threshold; `edges` are the mesh's buckets.
 */
export function chooseSlowEdge(
  slowRequestMs: number | undefined,
  stableP99Ms: number | undefined,
  maxP99LatencyMs: number,
  edges: readonly number[] = ENVOY_BUCKETS_MS,
): SlowEdge {
  if (slowRequestMs !== undefined) {
    const ms = bucketEdgeAtOrAbove(slowRequestMs, edges);
    return {
      ms,
      source: 'spec',
      detail:
        ms === slowRequestMs
          ? `${formatMs(ms)} from analysis.comparison.slowRequestMs`
          : `${formatMs(ms)}: analysis.comparison.slowRequestMs ${formatMs(slowRequestMs)} moved to the next latency bucket edge`,
    };
  }
  if (stableP99Ms !== undefined && Number.isFinite(stableP99Ms) && stableP99Ms > 0) {
    const ms = bucketEdgeAtOrAbove(stableP99Ms, edges);
    return {
      ms,
      source: 'stable-p99',
      detail: `${formatMs(ms)}: the latency bucket edge at or above stable's P99 of ${formatMs(stableP99Ms)} in the hour before the rollout`,
    };
  }
  const ms = bucketEdgeAtOrAbove(maxP99LatencyMs, edges);
  return {
    ms,
    source: 'p99-threshold',
    detail: `${formatMs(ms)}: stable had no latency data before the rollout, so the bucket edge at or above thresholds.maxP99LatencyMs`,
  };
}
