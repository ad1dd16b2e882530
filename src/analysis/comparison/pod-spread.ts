import type { CounterSnapshot } from './counters.js';

// Pods of one version do not all fail alike (a bad node, a cold cache, an unlucky shard). A canary of one or two pods
// is a small random sample of its version's pods, so a good canary that lands on a bad pod has a higher error rate
// than stable's average although its version is no worse. The errors guard therefore tests "the canary's rate is at
// most ratioBound × stable's", with ratioBound a prediction bound for the canary's pods drawn from stable's own pods:
// the random-effects view of meta-analysis (DerSimonian & Laird 1986, Control. Clin. Trials 7:177) with the
// normal-theory prediction interval for a new member of a sample (Geisser 1993, "Predictive Inference", §2.1; the same
// interval Higgins, Thompson & Spiegelhalter 2009, J. R. Stat. Soc. A 172:137, give for a new study).

/** The spread of stable's pods' error rates, read once when the comparison starts. */
export interface PodSpread {
  /** Stable pods with enough history to count. */
  pods: number;
  /** Sample standard deviation of the pods' ln error rates. */
  logSd: number;
}

/** How far back stable's per-pod history is read (a day): long enough that Poisson noise adds little to the spread. */
export const POD_HISTORY_SECONDS = 86_400;

/**
 * The spread of stable's pods from their requests and 5xx over the history window (one series per pod). A pod's rate
 * is (errors + 0.5) / requests, the continuity correction that keeps a pod without errors finite (Haldane 1956, Ann.
 * Hum. Genet. 20:309). Pods that served under half the mean are left out: a pod born late adds noise, not spread.
 * Undefined with fewer than two pods, or no requests: nothing to estimate a spread from.
 */
export function podSpreadOf(requests: CounterSnapshot, errors: CounterSnapshot): PodSpread | undefined {
  const served = Object.entries(requests).filter(([, n]) => Number.isFinite(n) && n > 0);
  const mean = served.reduce((sum, [, n]) => sum + n, 0) / Math.max(1, served.length);
  const logRates = served
    .filter(([, n]) => n >= mean / 2)
    .map(([pod, n]) => Math.log((Math.max(0, errors[pod] ?? 0) + 0.5) / n));
  if (logRates.length < 2 || !logRates.every(Number.isFinite)) return undefined;
  const centre = logRates.reduce((a, b) => a + b, 0) / logRates.length;
  const squares = logRates.reduce((sum, x) => sum + (x - centre) ** 2, 0);
  return { pods: logRates.length, logSd: Math.sqrt(squares / (logRates.length - 1)) };
}

/**
 * The rate ratio (canary / stable) that `canaryPods` pods of a version as good as stable stay below, all of them,
 * with probability >= 1 - alpha. The j-th canary pod gets alpha / 2^j (a union bound over however many pods come),
 * and for each the prediction bound exp(t s sqrt(1 + 1/k)) on its ln rate against the mean ln rate of stable's k pods,
 * t the Student quantile with k - 1 degrees of freedom. The canary's rate is the mean of its pods' rates, which is
 * at most the largest; stable's is at least the geometric mean of its pods' (AM >= GM): so the arm's ratio is within
 * the bound of its last pod. Normal ln rates give the bound exactly; Gamma-distributed rates have a shorter right tail
 * on the log scale, for which it is conservative.
 */
export function podRatioBound(spread: PodSpread, canaryPods: number, alpha: number): number {
  if (spread.pods < 2 || !(spread.logSd > 0)) return 1;
  const level = alpha / Math.pow(2, Math.max(1, canaryPods));
  const t = studentQuantile(1 - level, spread.pods - 1);
  return Math.exp(t * spread.logSd * Math.sqrt(1 + 1 / spread.pods));
}

/**
 * P(T <= t) for Student's t with an integer number of degrees of freedom, by the finite series of Abramowitz & Stegun
 * 26.7.3 (odd) and 26.7.4 (even), exact up to rounding.
 */
export function studentCdf(t: number, degrees: number): number {
  const theta = Math.atan(t / Math.sqrt(degrees));
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  let a: number;
  if (degrees % 2 === 1) {
    let sum = 0;
    let term = c;
    for (let k = 3; k <= degrees; k += 2) {
      sum += term;
      term *= ((k - 1) / k) * c * c;
    }
    a = (2 / Math.PI) * (theta + (degrees > 1 ? s * sum : 0));
  } else {
    let sum = 1;
    let term = 1;
    for (let k = 2; k < degrees; k += 2) {
      term *= ((k - 1) / k) * c * c;
      sum += term;
    }
    a = s * sum;
  }
  return 0.5 + a / 2;
}

/** The p-quantile of Student's t with `degrees` (integer) degrees of freedom, by bisection on studentCdf. */
export function studentQuantile(p: number, degrees: number): number {
  let lo = 0;
  let hi = 1;
  while (studentCdf(hi, degrees) < p && hi < 1e12) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentCdf(mid, degrees) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
