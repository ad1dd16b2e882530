/** Cumulative counter values per series (e.g. per pod), as read from Prometheus at one instant. */
export type CounterSnapshot = Record<string, number>;

/**
 * Turns two readings of per-series cumulative counters into the increment between them. A series whose value went
 * down was reset (its pod restarted), so its increment is the new value itself, as Prometheus' increase() counts it;
 * a series absent before started after the previous reading and counts from 0. Without a previous reading there is
 * no interval yet: the increment is 0 and `current` becomes the baseline. NaN or negative readings add nothing.
 * Use this on raw counters rather than increase(), whose extrapolated, fractional counts the exact test does not model.
 */
export function cumulativeToIncrement(prev: CounterSnapshot | undefined, current: CounterSnapshot): number {
  if (prev === undefined) return 0;
  let total = 0;
  for (const [series, value] of Object.entries(current)) {
    if (!(Number.isFinite(value) && value >= 0)) continue;
    const before = prev[series];
    if (before === undefined) total += value;
    // An unreadable previous value gives no baseline; this reading becomes the next one's.
    else if (!(Number.isFinite(before) && before >= 0)) continue;
    else total += value >= before ? value - before : value;
  }
  return total;
}
