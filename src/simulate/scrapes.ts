import type { ArmSecond } from './traffic.js';

// What Prometheus holds for one arm: its cumulative counters at every scrape, and the answers of the few PromQL
// functions the analysis uses (instant value, growth since the step started, histogram_quantile()), computed as
// Prometheus 2.x does.

/** Prometheus' default lookback: an instant query sees the latest sample at most this old. */
const LOOKBACK_SECONDS = 300;

/** Cumulative counters of one arm: requests, 5xx, and per latency bucket (cumulative over edges, last = +Inf). */
export interface ArmCounters {
  requests: number;
  errors: number;
  /** buckets[i] = requests at or below edge i; the last entry is the +Inf bucket (= requests). */
  buckets: number[];
}

export class ScrapedArm {
  private readonly times: number[] = [];
  private readonly samples: ArmCounters[] = [];
  /** The live counters of the arm's (single, never restarted) pod. */
  readonly live: ArmCounters;

  constructor(bucketCount: number) {
    this.live = { requests: 0, errors: 0, buckets: new Array<number>(bucketCount).fill(0) };
  }

  /** Adds one second of traffic to the live counters. */
  serve(second: ArmSecond): void {
    this.live.requests += second.requests;
    this.live.errors += second.errors;
    let cumulative = 0;
    for (let i = 0; i < second.buckets.length; i++) {
      cumulative += second.buckets[i]!;
      this.live.buckets[i]! += cumulative;
    }
  }

  /** Prometheus scrapes the live counters at `t` (seconds). */
  scrape(t: number): void {
    this.times.push(t);
    this.samples.push({ ...this.live, buckets: [...this.live.buckets] });
  }

  /** Index of the latest sample at or before `t`, or -1. */
  private indexAtOrBefore(t: number): number {
    let lo = 0;
    let hi = this.times.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The counters an instant query at `t` returns, or undefined when the series has no recent sample. */
  at(t: number): ArmCounters | undefined {
    const i = this.indexAtOrBefore(t);
    if (i < 0 || this.times[i]! < t - LOOKBACK_SECONDS) return undefined;
    return this.samples[i];
  }

  /**
   * The analysis' step-window query (growthSince in src/analysis/promql.ts) evaluated at `end`: each counter's
   * latest sample at or before `end` minus its latest at or before `start`; a series with no sample by `start`
   * counts in full. Undefined when there is no sample by `end` (an empty result).
   */
  growth(start: number, end: number): ArmCounters | undefined {
    const now = this.at(end);
    if (!now) return undefined;
    const before = this.at(start);
    if (!before) return now;
    // A counter that went down was reset: it counts from zero, as the query does.
    const grown = (from: number, to: number) => (to >= from ? to - from : to);
    return {
      requests: grown(before.requests, now.requests),
      errors: grown(before.errors, now.errors),
      buckets: now.buckets.map((v, i) => grown(before.buckets[i]!, v)),
    };
  }
}

/**
 * histogram_quantile(q, buckets) as Prometheus computes it: linear interpolation inside the bucket holding the rank,
 * the lowest bucket starting at 0, and the largest finite edge when the rank falls in +Inf. NaN without data.
 */
export function histogramQuantile(
  q: number,
  edges: readonly number[],
  cumulative: readonly number[],
): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let i = cumulative.findIndex((count) => count >= rank);
  if (i < 0) i = cumulative.length - 1;
  if (i === cumulative.length - 1) return edges[edges.length - 1]!;
  const lower = i === 0 ? 0 : edges[i - 1]!;
  const below = i === 0 ? 0 : cumulative[i - 1]!;
  const inBucket = cumulative[i]! - below;
  return inBucket > 0 ? lower + (edges[i]! - lower) * ((rank - below) / inBucket) : edges[i]!;
}
