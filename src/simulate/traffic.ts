import { sampleBinomial, samplePoisson, type Random } from '../analysis/comparison/random.js';
import { ISTIO_DURATION_BUCKETS_MS } from '../sandbox/mesh/metrics.js';

/** What the simulated service does: one request stream split between the arms by the canary weight. */
export interface TrafficModel {
  /** Mean requests per second over both arms (Poisson). */
  rps: number;
  stableErrorRate: number;
  canaryErrorRate: number;
  stableP99Ms: number;
  /** Canary latencies are stable's times this factor. */
  canaryLatencyFactor: number;
  scrapeIntervalSeconds: number;
}

export const DEFAULT_TRAFFIC: TrafficModel = {
  rps: 100,
  stableErrorRate: 0.001,
  canaryErrorRate: 0.001,
  stableP99Ms: 200,
  canaryLatencyFactor: 1,
  scrapeIntervalSeconds: 1,
};

/** Finite bucket edges (ms) of istio_request_duration_milliseconds; the +Inf bucket follows them. */
export const BUCKETS_MS: readonly number[] = ISTIO_DURATION_BUCKETS_MS;

/** The simulated latency has its median at a quarter of its P99 (a log-normal, as the sandbox mesh draws it). */
export const P99_OVER_MEDIAN = 4;
const Z_99 = 2.3263478740408408;

/** One arm's requests in one second: total, 5xx, and per latency bucket (not cumulative; last entry = +Inf). */
export interface ArmSecond {
  requests: number;
  errors: number;
  buckets: number[];
}

/**
 * erfc by the Chebyshev fit of Numerical Recipes (Press et al., 2nd ed., §6.2, erfcc), relative error < 1.2e-7:
 * enough for bucket probabilities.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  let poly = 0;
  for (const c of ERFC_COEFFICIENTS) poly = c + t * poly;
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

// Highest order first, for Horner's rule.
const ERFC_COEFFICIENTS = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
];

/** P(latency <= edge) for every finite edge, for a log-normal with this P99 and P99/median = P99_OVER_MEDIAN. */
export function latencyCdf(p99Ms: number): number[] {
  const mu = Math.log(p99Ms / P99_OVER_MEDIAN);
  const sigma = Math.log(P99_OVER_MEDIAN) / Z_99;
  return BUCKETS_MS.map((edge) => 0.5 * erfc(-(Math.log(edge) - mu) / (sigma * Math.SQRT2)));
}

/** Per-bucket probabilities (finite buckets, then +Inf), from the cumulative ones. */
export function bucketProbabilities(cdf: readonly number[]): number[] {
  const probabilities = cdf.map((p, i) => p - (i > 0 ? cdf[i - 1]! : 0));
  probabilities.push(1 - (cdf[cdf.length - 1] ?? 0));
  return probabilities.map((p) => Math.max(0, p));
}

/** Splits `n` requests over the buckets (a multinomial, drawn as successive binomials). */
function drawBuckets(random: Random, n: number, probabilities: readonly number[]): number[] {
  const counts = new Array<number>(probabilities.length).fill(0);
  let remaining = n;
  let mass = 1;
  for (let i = 0; i < probabilities.length && remaining > 0; i++) {
    const p = probabilities[i]!;
    const k =
      i === probabilities.length - 1
        ? remaining
        : sampleBinomial(random, remaining, mass > 0 ? Math.min(1, p / mass) : 0);
    counts[i] = k;
    remaining -= k;
    mass -= p;
  }
  return counts;
}

export interface ArmBehaviour {
  errorRate: number;
  bucketProbabilities: number[];
}

export function armBehaviours(model: TrafficModel): { stable: ArmBehaviour; canary: ArmBehaviour } {
  return {
    stable: {
      errorRate: model.stableErrorRate,
      bucketProbabilities: bucketProbabilities(latencyCdf(model.stableP99Ms)),
    },
    canary: {
      errorRate: model.canaryErrorRate,
      bucketProbabilities: bucketProbabilities(latencyCdf(model.stableP99Ms * model.canaryLatencyFactor)),
    },
  };
}

/** One second of traffic: Poisson arrivals, split by the weight (binomial), binomial errors, binned latencies. */
export function drawSecond(
  random: Random,
  rps: number,
  canaryWeight: number,
  arms: { stable: ArmBehaviour; canary: ArmBehaviour },
): { stable: ArmSecond; canary: ArmSecond } {
  const total = samplePoisson(random, rps);
  const canaryRequests = sampleBinomial(random, total, canaryWeight / 100);
  const arm = (requests: number, behaviour: ArmBehaviour): ArmSecond => ({
    requests,
    errors: sampleBinomial(random, requests, behaviour.errorRate),
    buckets: drawBuckets(random, requests, behaviour.bucketProbabilities),
  });
  return { stable: arm(total - canaryRequests, arms.stable), canary: arm(canaryRequests, arms.canary) };
}
