// Stable's error rate and P99 next to the canary's: the status holds only the canary's, so at each check the
// dashboard asks the Rollout's Prometheus for both tracks over the same window the check measured (the step
// since its weight took effect, up to the check), with the analysis's own PromQL builders.
import { createPrometheusClient, isNoValue, type QueryValue } from '../analysis/prometheus.js';
import { errorRateQuery, p99LatencyQuery } from '../analysis/promql.js';
import type { MetricsProvider } from '../analysis/providers/index.js';
import { workloadName } from '../workload/labels.js';

export interface TrackValues {
  errorRate?: number;
  p99Ms?: number;
}

export interface TrackWindow {
  /** Prometheus URL from the Rollout's spec; the dashboard sends no credentials. */
  address: string;
  namespace: string;
  app: string;
  /** The Rollout's metrics provider (analysis.metricsProvider). */
  provider: MetricsProvider;
  since: Date;
  at: Date;
}

const numberOf = (value: QueryValue) => (isNoValue(value) ? undefined : value);

/** Each track's values over the window, or undefined (with the reason) when Prometheus gave none. */
export async function trackValues(
  window: TrackWindow,
): Promise<{ stable: TrackValues; canary: TrackValues } | { unavailable: string }> {
  const client = createPrometheusClient(
    { address: window.address },
    { timeoutMs: 3000, retry: { retries: 0 } },
  );
  const track = async (track: 'stable' | 'canary'): Promise<TrackValues & { problem?: string }> => {
    const query = {
      namespace: window.namespace,
      workload: workloadName(window.app, track),
      provider: window.provider,
      since: window.since,
    };
    // As the analysis does: the callers' view of each request when they report it, else the attempts.
    const [callers, attempts, p99] = await Promise.all([
      client.query(errorRateQuery({ ...query, reporter: 'callers' }), window.at),
      client.query(errorRateQuery(query), window.at),
      client.query(p99LatencyQuery(query), window.at),
    ]);
    const problem = [callers, attempts, p99].find((v) => isNoValue(v) && v.kind === 'unreachable');
    return {
      errorRate: numberOf(callers) ?? numberOf(attempts),
      p99Ms: numberOf(p99),
      ...(problem && isNoValue(problem) ? { problem: problem.reason } : {}),
    };
  };
  const [stable, canary] = await Promise.all([track('stable'), track('canary')]);
  const problem = stable.problem ?? canary.problem;
  if (problem) return { unavailable: `Prometheus ${window.address} did not answer: ${problem}` };
  return {
    stable: { errorRate: stable.errorRate, p99Ms: stable.p99Ms },
    canary: { errorRate: canary.errorRate, p99Ms: canary.p99Ms },
  };
}
