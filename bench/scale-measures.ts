// What bench/scale.ts reads from the controller's /metrics text and from Rollout statuses.
import type { BenchStatus } from './scale-backend.js';

/** Lines of one metric whose labels contain every `key="value"` given. */
function lines(text: string, name: string, labels: Record<string, string> = {}): string[] {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => wanted.every((w) => l.includes(w)));
}

/** The sum of a counter's (or a histogram part's) series that match `labels`. */
export function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return lines(text, name, labels).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** Kubernetes writes counted by the controller (every verb but list, watch and get). */
export function writes(text: string): number {
  return lines(text, 'stepwise_kubernetes_requests_total')
    .filter((l) => !/verb="(list|watch|get)"/.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** Cumulative bucket counts of a histogram's series matching `labels`, by upper bound (seconds). */
export function buckets(text: string, name: string, labels: Record<string, string>): Map<number, number> {
  const byBound = new Map<number, number>();
  for (const l of lines(text, `${name}_bucket`, labels)) {
    const le = /le="([^"]+)"/.exec(l)![1]!;
    const bound = le === '+Inf' ? Infinity : Number(le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + Number(l.split(' ').at(-1)));
  }
  return byBound;
}

/**
 * The upper bound (ms) of the bucket holding quantile q of what a histogram observed between two scrapes:
 * the most a histogram can say (Prometheus' histogram_quantile interpolates within it instead).
 */
export function quantileBoundMs(before: Map<number, number>, after: Map<number, number>, q: number) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const count = (b: number) => after.get(b)! - (before.get(b) ?? 0);
  const n = bounds.length ? count(Infinity) : 0;
  if (n === 0) return { observed: 0, boundMs: null };
  const bound = bounds.find((b) => count(b) >= q * n)!;
  return { observed: n, boundMs: Number.isFinite(bound) ? Math.round(bound * 1000) : null };
}

export const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : null;

/**
 * How late a Rollout's first check of its step came: from when it was due to the check's time in status. Checks fall
 * on the namespace's grid (src/rollout/checks.ts, `offsetMs` past the multiples of the interval): the first is due one
 * interval after the first grid instant at or after the step's start. Undefined until the first check is written.
 */
export function firstCheckLateMs(
  status: BenchStatus | undefined,
  intervalMs: number,
  offsetMs: number,
): number | undefined {
  if (!status?.stepStartedAt || !status.analysis?.lastCheckAt || status.analysis.checks !== 1)
    return undefined;
  const started = Date.parse(status.stepStartedAt) - offsetMs;
  const due = Math.ceil(started / intervalMs) * intervalMs + offsetMs + intervalMs;
  return Date.parse(status.analysis.lastCheckAt) - due;
}
