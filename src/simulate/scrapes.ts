import type { ArmSecond } from './traffic.js';

// What Prometheus holds for one arm: its cumulative counters at every scrape, and the answers of the few PromQL
// functions the analysis uses (instant value, growth since the step started, histogram_quantile()), computed as
// Prometheus 2.x does.

/** Prometheus' default lookback: an instant query sees the latest sample at most this old. */
const LOOKBACK_SECONDS = 300;

/** Cumulative counters of one pod (or a sum of pods): requests, 5xx, and per latency bucket. */
export interface ArmCounters {
  requests: number;
  errors: number;
  /** buckets[i] = requests at or below edge i; the last entry is the +Inf bucket (= requests). */
  buckets: number[];
}

/** An arm's counters at one scrape: each pod's, as reporter="destination", and the callers' (reporter="source"). */
export interface ArmSample {
  pods: ArmCounters[];
  callers: { requests: number; errors: number };
}

function sumPods(pods: readonly ArmCounters[], bucketCount: number): ArmCounters {
  const total: ArmCounters = { requests: 0, errors: 0, buckets: new Array<number>(bucketCount).fill(0) };
  for (const pod of pods) {
    total.requests += pod.requests;
    total.errors += pod.errors;
    pod.buckets.forEach((v, i) => (total.buckets[i]! += v));
  }
  return total;
}

export class ScrapedArm {
  private readonly times: number[] = [];
  private readonly samples: ArmSample[] = [];
  /** The live counters of the arm's pods (never restarted; a pod added later starts at 0). */
  readonly live: ArmSample = { pods: [], callers: { requests: 0, errors: 0 } };

  constructor(private readonly bucketCount: number) {}

  /** Adds one second of traffic to the live counters. */
  serve(second: ArmSecond): void {
    second.pods.forEach((pod, i) => {
      const live = (this.live.pods[i] ??= {
        requests: 0,
        errors: 0,
        buckets: new Array<number>(this.bucketCount).fill(0),
      });
      live.requests += pod.requests;
      live.errors += pod.errors;
      let cumulative = 0;
      for (let b = 0; b < pod.buckets.length; b++) {
        cumulative += pod.buckets[b]!;
        live.buckets[b]! += cumulative;
      }
    });
    this.live.callers.requests += second.callers.requests;
    this.live.callers.errors += second.callers.errors;
  }

  /** Prometheus scrapes the live counters at `t` (seconds). */
  scrape(t: number): void {
    this.times.push(t);
    this.samples.push({
      pods: this.live.pods.map((pod) => ({ ...pod, buckets: [...pod.buckets] })),
      callers: { ...this.live.callers },
    });
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

  /** The sample an instant query at `t` reads, or undefined when the series have no recent sample. */
  at(t: number): ArmSample | undefined {
    const i = this.indexAtOrBefore(t);
    if (i < 0 || this.times[i]! < t - LOOKBACK_SECONDS) return undefined;
    return this.samples[i];
  }

  /**
   * The analysis' step-window query (growthSince in src/analysis/promql.ts) evaluated at `end`, summed over pods: each
   * counter's latest sample at or before `end` minus its latest at or before `start`; a series with no sample by
   * `start` counts in full. Undefined when there is no sample by `end` (an empty result).
   */
  growth(start: number, end: number): (ArmCounters & Pick<ArmSample, 'callers'>) | undefined {
    const now = this.at(end);
    if (!now) return undefined;
    const total = { ...sumPods(now.pods, this.bucketCount), callers: now.callers };
    const before = this.at(start);
    if (!before) return total;
    // Pods never restart here, so every counter only grows; a pod born later counts in full.
    const earlier = sumPods(before.pods, this.bucketCount);
    return {
      requests: total.requests - earlier.requests,
      errors: total.errors - earlier.errors,
      buckets: total.buckets.map((v, i) => v - earlier.buckets[i]!),
      callers: {
        requests: now.callers.requests - before.callers.requests,
        errors: now.callers.errors - before.callers.errors,
      },
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
