import { seededRandom } from '../analysis/comparison/random.js';
import type { RolloutSpec } from '../api/schema.js';
import { defaultMaxSeconds, simulateRun, type RunOutcome, type RunSettings } from './run.js';
import type { TrafficModel } from './traffic.js';

export interface SimulationOptions {
  traffic: TrafficModel;
  runs: number;
  seed: number;
  /** Seconds until canary pods are ready after a change; default 0. */
  podReadySeconds?: number;
  maxSeconds?: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  max: number;
}

export interface SimulationSummary {
  runs: number;
  promoted: number;
  rolledBack: number;
  undecided: number;
  /** Over decided runs (promoted or rolled back); null when none was decided. */
  secondsToDecision: Percentiles | null;
  secondsToRollback: Percentiles | null;
  secondsToPromote: Percentiles | null;
  /** Requests the canary failed before the decision, mirrored copies included (each once, after retries). */
  failedCanaryRequests: { mean: number; p95: number };
  /** Of the users' requests, those that reached the canary and failed (after retries): what users saw. */
  failedUserRequests: { mean: number; p95: number };
  /** Requests the canary served (users' and copies), and the users' among them. */
  canaryRequests: { mean: number };
  userCanaryRequests: { mean: number };
  /** Runs rolled back before a single user request reached the canary (judged on mirrored copies alone). */
  rolledBackBeforeUserRequests: number;
  /** The most frequent rollback reasons (step and check removed), with their counts. */
  rollbackReasons: { reason: string; runs: number }[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted[sorted.length - 1]! };
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Run i draws from its own stream, so a run's traffic depends only on (seed, i). */
export function runSeed(seed: number, run: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(run + 1, 0x85ebca6b)) >>> 0;
}

/** `runs` independent rollouts of `spec` against the traffic model; deterministic for a seed. */
export function simulate(spec: RolloutSpec, options: SimulationOptions): SimulationSummary {
  const settings: RunSettings = {
    podReadySeconds: options.podReadySeconds ?? 0,
    maxSeconds: options.maxSeconds ?? defaultMaxSeconds(spec),
  };
  const outcomes: RunOutcome[] = [];
  for (let run = 0; run < options.runs; run++) {
    outcomes.push(simulateRun(spec, options.traffic, seededRandom(runSeed(options.seed, run)), settings));
  }
  return summarize(outcomes);
}

export function summarize(outcomes: readonly RunOutcome[]): SimulationSummary {
  const of = (kind: RunOutcome['outcome']) => outcomes.filter((o) => o.outcome === kind);
  const meanAndP95 = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { mean: mean(sorted), p95: percentile(sorted, 0.95) };
  };
  const reasons = new Map<string, number>();
  for (const o of of('rolledBack')) {
    // "step 1/4 (5%): canary 5xx rate is ... (check 2)" -> "canary 5xx rate is ..." without the numbers.
    const reason = (o.message ?? '')
      .replace(/^step [^:]*: /, '')
      .replace(/ \(check .*\)$/, '')
      .replace(/\b\d+(?:\.\d+)?(?:e\+\d+)?\b(?!xx)/g, 'N');
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  return {
    runs: outcomes.length,
    promoted: of('promoted').length,
    rolledBack: of('rolledBack').length,
    undecided: of('undecided').length,
    secondsToDecision: percentiles(outcomes.filter((o) => o.outcome !== 'undecided').map((o) => o.seconds)),
    secondsToRollback: percentiles(of('rolledBack').map((o) => o.seconds)),
    secondsToPromote: percentiles(of('promoted').map((o) => o.seconds)),
    failedCanaryRequests: meanAndP95(outcomes.map((o) => o.failedCanaryRequests)),
    failedUserRequests: meanAndP95(outcomes.map((o) => o.failedUserRequests)),
    canaryRequests: { mean: mean(outcomes.map((o) => o.canaryRequests)) },
    userCanaryRequests: { mean: mean(outcomes.map((o) => o.userCanaryRequests)) },
    rolledBackBeforeUserRequests: of('rolledBack').filter((o) => o.userCanaryRequests === 0).length,
    rollbackReasons: [...reasons.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([reason, runs]) => ({ reason, runs })),
  };
}
