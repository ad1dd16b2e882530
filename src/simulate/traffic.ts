import { sampleBinomial, sampleGamma, samplePoisson, type Random } from '../analysis/comparison/random.js';
import { ISTIO_DURATION_BUCKETS_MS } from '../analysis/envoy-buckets.js';

/** What the simulated service does: one request stream split between the arms by the canary weight. */
export interface TrafficModel {
  /** Mean requests per second over both arms (Poisson). */
  rps: number;
  /** Share of requests whose first attempt fails (5xx), averaged over the arm's pods. */
  stableErrorRate: number;
  canaryErrorRate: number;
  stableP99Ms: number;
  /** Canary latencies are stable's times this factor. */
  canaryLatencyFactor: number;
  scrapeIntervalSeconds: number;
  /**
   * Retries of a failed attempt, as Istio's client sidecar makes them: 2 by default (Istio's DefaultPolicy(), in
   * pilot/pkg/networking/core/route/retry/retry.go), each on another pod of the same subset (previous_hosts
   * predicate). The server sidecar reports every attempt with reporter="destination". Default 0.
   */
  retries?: number;
  /** Chance that a retry of a failed request fails again (1: the failure comes with the request). Default 1. */
  retryFailsAgain?: number;
  /**
   * Pods of one version differ: each pod's error rate is the arm's rate times a Gamma draw with mean 1 and this
   * coefficient of variation, for both versions alike. Default 0 (identical pods).
   */
  podErrorRateSpread?: number;
  /** A dependency that fails for a while, for both arms at once. */
  burst?: Burst;
}

/** During `seconds` from a start drawn uniformly in [0, startsWithinSeconds), every request also fails with `errorRate`. */
export interface Burst {
  seconds: number;
  errorRate: number;
  startsWithinSeconds: number;
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

/** One pod's attempts in one second as its server sidecar reports them: total, 5xx, per latency bucket. */
export interface PodSecond {
  requests: number;
  errors: number;
  /** Not cumulative; the last entry is +Inf. */
  buckets: number[];
}

/** One arm's second: per pod (reporter="destination", every attempt) and as the callers saw it (one per request). */
export interface ArmSecond {
  pods: PodSecond[];
  /** Requests and those that failed after all retries, as the client sidecars report them (reporter="source"). */
  callers: { requests: number; errors: number };
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

/** What one arm is at a given second: how it answers, and its pods' error-rate multipliers. */
export interface ArmNow {
  behaviour: ArmBehaviour;
  pods: readonly number[];
}

/** A pod's error-rate multiplier: Gamma with mean 1 and coefficient of variation `spread` (1 when spread is 0). */
export function podMultiplier(random: Random, spread: number): number {
  if (!(spread > 0)) return 1;
  const shape = 1 / (spread * spread);
  return sampleGamma(random, shape) / shape;
}

/** The second in which the model's burst starts, drawn once per run (undefined: no burst). */
export function burstStart(random: Random, model: TrafficModel): number | undefined {
  return model.burst && Math.floor(random() * model.burst.startsWithinSeconds);
}

function emptyPod(bucketCount: number): PodSecond {
  return { requests: 0, errors: 0, buckets: new Array<number>(bucketCount).fill(0) };
}

/** One attempt at a pod: counted by its sidecar, with a latency drawn from the arm's distribution. */
function attempt(random: Random, pod: PodSecond, failed: boolean, behaviour: ArmBehaviour): void {
  pod.requests += 1;
  if (failed) pod.errors += 1;
  pod.buckets[drawBuckets(random, 1, behaviour.bucketProbabilities).indexOf(1)]! += 1;
}

/**
 * Istio's retries of one failed request first sent to pod `from` of `podCount`: each retry goes to another pod (the same
 * one when there is only one) and fails again with `retryFailsAgain`; `attempt` counts each. Returns whether the
 * request failed in the end.
 */
function retryFailed(
  random: Random,
  from: number,
  podCount: number,
  model: TrafficModel,
  attempt: (pod: number, failed: boolean) => void,
): boolean {
  const failsAgain = model.retryFailsAgain ?? 1;
  let last = from;
  let stillFailing = true;
  for (let r = 0; r < (model.retries ?? 0) && stillFailing; r++) {
    const next = podCount === 1 ? 0 : (last + 1 + Math.floor(random() * (podCount - 1))) % podCount;
    stillFailing = random() < failsAgain;
    attempt(next, stillFailing);
    last = next;
  }
  return stillFailing;
}

/**
 * One arm's requests of one second, request by request where they fail: the pod of each request (uniform), its first
 * attempt failing with the pod's rate plus the burst's, and each retry going to another pod of the arm (the same one
 * when it has only one) and failing again with `retryFailsAgain`.
 */
function drawArm(
  random: Random,
  requests: number,
  arm: ArmNow,
  model: TrafficModel,
  extraErrorRate: number,
): ArmSecond {
  const { behaviour } = arm;
  const podCount = Math.max(1, arm.pods.length);
  const pods = Array.from({ length: podCount }, () => emptyPod(behaviour.bucketProbabilities.length));
  let remaining = requests;
  let failedRequests = 0;
  for (let i = 0; i < podCount && remaining > 0; i++) {
    const served = i === podCount - 1 ? remaining : sampleBinomial(random, remaining, 1 / (podCount - i));
    remaining -= served;
    const rate = Math.min(1, behaviour.errorRate * (arm.pods[i] ?? 1) + extraErrorRate);
    const failed = sampleBinomial(random, served, rate);
    const pod = pods[i]!;
    // Successful first attempts in bulk; each failed request's attempts one by one.
    const fine = drawBuckets(random, served - failed, behaviour.bucketProbabilities);
    pod.requests += served - failed;
    for (let b = 0; b < fine.length; b++) pod.buckets[b]! += fine[b]!;
    for (let f = 0; f < failed; f++) {
      attempt(random, pod, true, behaviour);
      const failedInTheEnd = retryFailed(random, i, podCount, model, (next, again) =>
        attempt(random, pods[next]!, again, behaviour),
      );
      if (failedInTheEnd) failedRequests += 1;
    }
  }
  return { pods, callers: { requests, errors: failedRequests } };
}

/**
 * One arm's requests and 5xx per pod over `seconds` of serving all traffic, as its server sidecars count them (every
 * attempt): what the comparison reads of stable's pods before the rollout. Drawn in bulk; each failed request's
 * retries go one by one to other pods of the arm, as in drawArm, without latencies.
 */
export function drawHistory(
  random: Random,
  seconds: number,
  arm: Pick<ArmNow, 'pods'> & { behaviour: Pick<ArmBehaviour, 'errorRate'> },
  model: TrafficModel,
): { requests: number; errors: number }[] {
  const podCount = Math.max(1, arm.pods.length);
  const pods = Array.from({ length: podCount }, () => ({ requests: 0, errors: 0 }));
  let remaining = samplePoisson(random, model.rps * seconds);
  for (let i = 0; i < podCount && remaining > 0; i++) {
    const served = i === podCount - 1 ? remaining : sampleBinomial(random, remaining, 1 / (podCount - i));
    remaining -= served;
    const failed = sampleBinomial(random, served, Math.min(1, arm.behaviour.errorRate * (arm.pods[i] ?? 1)));
    pods[i]!.requests += served;
    pods[i]!.errors += failed;
    for (let f = 0; f < failed; f++) {
      retryFailed(random, i, podCount, model, (next, again) => {
        pods[next]!.requests += 1;
        if (again) pods[next]!.errors += 1;
      });
    }
  }
  return pods;
}

/** One second of traffic: Poisson arrivals, split by the weight (binomial), then each arm's requests. */
export function drawSecond(
  random: Random,
  model: TrafficModel,
  canaryWeight: number,
  arms: { stable: ArmNow; canary: ArmNow },
  extraErrorRate = 0,
): { stable: ArmSecond; canary: ArmSecond } {
  const total = samplePoisson(random, model.rps);
  const canaryRequests = sampleBinomial(random, total, canaryWeight / 100);
  return {
    stable: drawArm(random, total - canaryRequests, arms.stable, model, extraErrorRate),
    canary: drawArm(random, canaryRequests, arms.canary, model, extraErrorRate),
  };
}
