import type { AnalysisSpec } from '../api/schema.js';
import type { Verdict } from '../api/status.js';
import type { ReadyPods } from './no-healthy-upstream.js';

/** Credentials and address resolved from the Rollout (Secrets already read). */
export interface PrometheusTarget {
  address: string;
  headers?: Record<string, string>;
}

/** One analysis check of the canary, over the current step so far. */
export interface CheckRequest {
  namespace: string;
  /** Istio `destination_workload` of each track: `<app>-canary`, `<app>-stable`. */
  canaryWorkload: string;
  stableWorkload: string;
  /**
   * The service both tracks serve (the DestinationRule's host, short or fully qualified). Its callers' 503s "no
   * healthy upstream" name no workload, only the service; they count for the canary while `readyPods` says only the
   * canary has no ready pod (no-healthy-upstream.ts).
   */
  serviceHost?: string;
  /** Ready pods of each track at this pass: whether the service's "no healthy upstream" 503s are the canary's. */
  readyPods?: ReadyPods;
  analysis: AnalysisSpec;
  prometheus: PrometheusTarget;
  /** Evaluation time of the instant queries. */
  at: Date;
  /** When the current step's weight took effect: where the comparison starts counting. */
  stepStartedAt: Date;
  /**
   * Start of the thresholds' window (requests, error rate, P99, slow share, custom metrics): the first instant of the
   * interval's grid at or after `stepStartedAt` (rollout/checks.ts `windowStartMs`); `stepStartedAt` when absent.
   */
  windowStartedAt?: Date;
  /**
   * Where the comparison's first check reads its baseline counters and stable's history (rollout/checks.ts
   * `baselineAtMs`: the grid instant at or before `stepStartedAt`, so that they batch); `stepStartedAt` when absent.
   */
  baselineAt?: Date;
  /** Time of the previous check of this canary revision (any step), for per-interval increments. */
  previousCheckAt?: Date;
  /**
   * A mirror step: the canary answers only copies of stable's requests, which its callers do not report (Istio
   * reports a mirrored request only on the receiving sidecar, istio/istio#23496). Its callers' counts are then
   * older releases' requests, not this canary's, and the canary is judged on what it served.
   */
  mirrored?: boolean;
  /** The comparison's state from status.analysis.comparison (undefined at the first check). */
  comparison?: unknown;
  /** Aborts the check (an abort of the Rollout arrived); its result is then not used. */
  signal?: AbortSignal;
}

/** A threshold or metric the canary breached. */
export interface Finding {
  /** `errorRate`, `p99Latency`, `comparison` or a custom metric's name. */
  metric: string;
  value: number;
  limit: number;
  /** Human sentence: "canary error rate 4.83% is above the limit 1%". */
  message: string;
}

export interface CheckResult {
  verdict: Verdict;
  /** A failure that rolls back at once, whatever failureLimit says (the comparison's evidence crossed its bound). */
  decisive?: boolean;
  /** Canary requests in the step window. */
  requests?: number;
  errorRate?: number;
  p99Ms?: number;
  metrics: Record<string, number>;
  evidence?: number;
  rateRatio?: { lower: number; upper: number };
  /** Why the check failed (verdict `fail`). */
  failures: Finding[];
  /** Why the check was inconclusive: missing series, NaN, too few requests, Prometheus unreachable. */
  inconclusive: string[];
  /** New comparison state to store in status. */
  comparison?: unknown;
}

/** Runs one check against the metrics backend. Never throws: errors become inconclusive results. */
export interface CanaryAnalyzer {
  check(request: CheckRequest): Promise<CheckResult>;
}
