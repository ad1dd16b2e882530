import type { ArmSecond } from './traffic.js';

// What Prometheus holds for one arm: its cumulative counters at every scrape, and the answers of the few PromQL
// functions the analysis uses (instant value, increase(), histogram_quantile()), computed as Prometheus 2.x does.

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
   * increase(counter[end - start]) evaluated at `end`, for every counter of the arm, with Prometheus 2.x's
   * extrapolation (extrapolatedRate in promql/functions.go): samples in [start, end], the change between the first
   * and last, stretched towards the window's edges. Undefined with fewer than two samples (an empty result).
   */
  increase(start: number, end: number): ArmCounters | undefined {
    const last = this.indexAtOrBefore(end);
    let first = this.indexAtOrBefore(start);
    if (first < 0 || this.times[first]! < start) first += 1;
    if (last < 0 || last - first < 1) return undefined;
    const t0 = this.times[first]!;
    const t1 = this.times[last]!;
    const a = this.samples[first]!;
    const b = this.samples[last]!;
    const one = (v0: number, v1: number) => extrapolated(v0, v1, t0, t1, last - first, start, end);
    return {
      requests: one(a.requests, b.requests),
      errors: one(a.errors, b.errors),
      buckets: a.buckets.map((v0, i) => one(v0, b.buckets[i]!)),
    };
  }
}

function extrapolated(
  firstValue: number,
  lastValue: number,
  firstT: number,
  lastT: number,
  intervals: number,
  rangeStart: number,
  rangeEnd: number,
): number {
  const result = lastValue - firstValue;
  let durationToStart = firstT - rangeStart;
  const durationToEnd = rangeEnd - lastT;
  const sampled = lastT - firstT;
  const average = sampled / intervals;
  // A counter cannot have been below zero: extrapolate at most to where it would reach it.
  if (result > 0 && firstValue >= 0) {
    const durationToZero = sampled * (firstValue / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = average * 1.1;
  let extrapolateTo = sampled;
  extrapolateTo += durationToStart < threshold ? durationToStart : average / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : average / 2;
  return result * (extrapolateTo / sampled);
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
