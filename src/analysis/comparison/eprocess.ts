import { logSumExp } from './special.js';

/**
 * Sequential test that the canary's event rate (5xx, slow requests) is higher than stable's, conditioned on the
 * events. Given n events in an interval where the canary got the share pi0 = Nc / (Nc + Ns) of the requests, an
 * event lands on the canary with probability pi0 when the canary is no worse, and with
 * pi(rho) = pi0 rho / (pi0 rho + 1 - pi0) when its rate is rho times stable's. The likelihood ratio of rho against
 * rho = 1 over the interval is rho^xc / (1 + pi0 (rho - 1))^n, the same as
 * (pi(rho)/pi0)^xc ((1 - pi(rho))/(1 - pi0))^xs but without the cancellation. Mixing over a grid of rho gives an
 * e-process (Ramdas et al. 2023, Stat. Sci., "Game-theoretic statistics and safe anytime-valid inference"; Lindon &
 * Malek 2022, NeurIPS, for count data), valid however pi0 changes between intervals because each interval's factor
 * has expectation <= 1 given the past: exactly 1 under Poisson counts, and <= 1 when each request fails
 * independently (the count on the canary is then hypergeometric, which the binomial dominates in convex order:
 * Hoeffding 1963, Thm. 4).
 */

/** Rate ratios (canary / stable) the rollback test bets on, with equal weights. */
export const ROLLBACK_RATIOS: readonly number[] = [1.5, 2, 3, 5, 10, 20, 50];

/** Log-spaced rate ratios from 0.1 to 100, 20 per decade, on which the confidence bounds are resolved. */
export const RATIO_GRID_PER_DECADE = 20;
export const RATIO_GRID_MIN_EXPONENT = -1;
export const RATIO_GRID: readonly number[] = Array.from({ length: 3 * RATIO_GRID_PER_DECADE + 1 }, (_, i) =>
  Math.pow(10, RATIO_GRID_MIN_EXPONENT + i / RATIO_GRID_PER_DECADE),
);

/** One guard's evidence so far: plain JSON, stored in the Rollout status. */
export interface RateRatioState {
  /** ln of the likelihood ratio of each ROLLBACK_RATIOS entry against "canary no worse". */
  logL: number[];
  canaryEvents: number;
  stableEvents: number;
  /**
   * sum over intervals of n ln(1 + pi0 (r - 1)) for each r in RATIO_GRID: with canaryEvents this gives the
   * log-likelihood of every grid ratio, so the confidence bounds stay incremental.
   */
  logNorm: number[];
}

/** Events and requests of both arms in one evaluation interval. */
export interface EventInterval {
  canaryEvents: number;
  stableEvents: number;
  canaryRequests: number;
  stableRequests: number;
}

export function newRateRatioState(): RateRatioState {
  return {
    logL: ROLLBACK_RATIOS.map(() => 0),
    canaryEvents: 0,
    stableEvents: 0,
    logNorm: RATIO_GRID.map(() => 0),
  };
}

/**
 * A counter increment can only be >= 0; a negative one means a counter reset that was not turned into an increment
 * upstream, and counting it as 0 loses a little evidence instead of inventing some.
 */
function nonNegative(value: number): number {
  return value > 0 ? value : 0;
}

/**
 * Adds one interval; returns a new state and leaves the input untouched. `nullRatio` (>= 1, default 1) is the ratio
 * the rollback test treats as "no worse" in this interval: each entry of logL then bets on nullRatio × r against
 * nullRatio, with the factor r^xc ((1 + pi0 (nullRatio - 1)) / (1 + pi0 (nullRatio r - 1)))^n. That factor's
 * expectation is <= 1 whenever the true ratio is <= nullRatio (linear in the chance pi that an event lands on the
 * canary, 1 at pi(nullRatio): see confidence.ts), so a nullRatio fixed before the interval's events keeps the product
 * a test supermartingale however it changes between intervals.
 */
export function addInterval(state: RateRatioState, interval: EventInterval, nullRatio = 1): RateRatioState {
  const values = [
    interval.canaryEvents,
    interval.stableEvents,
    interval.canaryRequests,
    interval.stableRequests,
  ];
  // Missing data (NaN, +Inf from a bad scrape) says nothing about the ratio; it must not reach the stored state.
  if (!values.every(Number.isFinite)) return state;
  const [xc, xs, nc, ns] = values.map(nonNegative) as [number, number, number, number];
  const events = xc + xs;
  // With no requests on one arm (pi0 = 0 or 1, e.g. the 100% step) every hypothesis predicts where each event lands,
  // so the interval carries no information on the ratio (and the formula would be 0/0).
  if (events === 0 || nc === 0 || ns === 0) return state;
  const pi0 = nc / (nc + ns);
  if (!(pi0 > 0 && pi0 < 1)) return state;

  const base = Math.max(1, nullRatio);
  const logBase = Math.log1p(pi0 * (base - 1));
  const logL = new Array<number>(ROLLBACK_RATIOS.length);
  for (let j = 0; j < ROLLBACK_RATIOS.length; j++) {
    const rho = ROLLBACK_RATIOS[j] ?? 1;
    logL[j] =
      (state.logL[j] ?? 0) + xc * Math.log(rho) - events * (Math.log1p(pi0 * (base * rho - 1)) - logBase);
  }
  const logNorm = new Array<number>(RATIO_GRID.length);
  for (let i = 0; i < RATIO_GRID.length; i++) {
    logNorm[i] = (state.logNorm[i] ?? 0) + events * Math.log1p(pi0 * ((RATIO_GRID[i] ?? 1) - 1));
  }
  if (!logL.every(Number.isFinite) || !logNorm.every(Number.isFinite)) return state;
  return { logL, canaryEvents: state.canaryEvents + xc, stableEvents: state.stableEvents + xs, logNorm };
}

/** ln of the e-value against "the canary is no worse than stable" (uniform mixture over ROLLBACK_RATIOS). */
export function logEvidenceAgainstCanary(state: RateRatioState): number {
  return logSumExp(state.logL) - Math.log(state.logL.length);
}
