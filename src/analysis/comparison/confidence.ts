import {
  RATIO_GRID,
  RATIO_GRID_MIN_EXPONENT,
  RATIO_GRID_PER_DECADE,
  type RateRatioState,
} from './eprocess.js';

/**
 * Confidence sequence for the rate ratio rho = canary rate / stable rate, by inverting one-sided tests
 * (Ramdas et al. 2023, Stat. Sci., §6; Howard et al. 2021, Ann. Stat., "Time-uniform, nonparametric, nonasymptotic
 * confidence sequences"). For a candidate r, E_up(r) mixes the likelihood ratios of r·c against r over multipliers
 * c > 1; it is an e-process for H0: rho <= r, since each interval's factor has expectation
 * (pi pi(rc)/pi(r) + (1 - pi)(1 - pi(rc))/(1 - pi(r)))^n, linear in the true pi and 1 at pi = pi(r), so <= 1 for every
 * rho <= r. E_down(r) uses c < 1 and tests H0: rho >= r. Each component's log-ratio,
 * xc ln c - n ln((1 + pi0 (rc - 1)) / (1 + pi0 (r - 1))), falls with r when c > 1 and rises when c < 1, for every
 * interval, so E_up is non-increasing and E_down non-decreasing in r on every path. Rejecting where E >= 2/alpha
 * therefore removes a lower interval (0, lower] and an upper one [upper, inf); if the true ratio were in either, its own
 * e-process would have crossed 2/alpha, which Ville's inequality allows with probability <= alpha/2 per side, at any
 * time. The grid only makes the reported bounds conservative.
 */

/**
 * Multipliers c = 10^(s/20) for s in these grid steps: about 1.12, 1.26, 1.6, 2, 3.2, 5, 10, 20, 50 (equal weights);
 * the small ones narrow the bounds once data are plentiful.
 */
const MULTIPLIER_STEPS: readonly number[] = [1, 2, 4, 6, 10, 14, 20, 26, 34];

const LOG_RATIO_GRID: readonly number[] = RATIO_GRID.map(
  (_, i) => (RATIO_GRID_MIN_EXPONENT + i / RATIO_GRID_PER_DECADE) * Math.LN10,
);
const LOG_WEIGHT = Math.log(MULTIPLIER_STEPS.length);

function logLikelihood(state: RateRatioState, index: number): number {
  return state.canaryEvents * (LOG_RATIO_GRID[index] ?? 0) - (state.logNorm[index] ?? 0);
}

/**
 * ln E for "the ratio is above RATIO_GRID[index]" (direction +1) or "below it" (-1). Alternatives that fall off the
 * grid are left out with their weight (a sub-mixture is still an e-process, and dropping more of them further from
 * the middle keeps the monotonicity in r). One-pass log-sum-exp: this runs at every check of every guard.
 */
export function logEvidenceBeyondRatio(state: RateRatioState, index: number, direction: 1 | -1): number {
  const base = logLikelihood(state, index);
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const step of MULTIPLIER_STEPS) {
    const alt = index + direction * step;
    if (alt < 0 || alt >= RATIO_GRID.length) continue;
    const x = logLikelihood(state, alt) - base;
    if (x > max) {
      sum = sum * Math.exp(max - x) + 1;
      max = x;
    } else {
      sum += Math.exp(x - max);
    }
  }
  return max + Math.log(sum) - LOG_WEIGHT;
}

export interface RateRatioBounds {
  /** The data rule out a ratio at or below this (0: nothing ruled out). */
  lower: number;
  /** The data rule out a ratio at or above this (Infinity: nothing up to 100 ruled out). */
  upper: number;
}

/** Largest index in [0, length) for which `holds` is true, given it holds on a prefix; -1 when it holds nowhere. */
function lastOfPrefix(length: number, holds: (index: number) => boolean): number {
  // Probe both ends first: with little data nothing is ruled out and the answer is found in one step.
  if (!holds(0)) return -1;
  if (holds(length - 1)) return length - 1;
  let lo = 0;
  let hi = length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (holds(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Two-sided (1 - alpha) confidence sequence for the rate ratio: the true ratio lies in (lower, upper) at every check
 * of the whole rollout with probability >= 1 - alpha. Each end is one binary search over the grid.
 */
export function rateRatioBounds(state: RateRatioState, alpha: number): RateRatioBounds {
  // States are never mutated and an interval without events returns the same object: reuse its bounds.
  const cached = boundsCache.get(state);
  if (cached?.alpha === alpha) return { ...cached.bounds };
  const bounds = computeBounds(state, alpha);
  boundsCache.set(state, { alpha, bounds });
  return { ...bounds };
}

const boundsCache = new WeakMap<RateRatioState, { alpha: number; bounds: RateRatioBounds }>();

function computeBounds(state: RateRatioState, alpha: number): RateRatioBounds {
  const threshold = Math.log(2 / alpha);
  const lowIndex = lastOfPrefix(RATIO_GRID.length, (i) => logEvidenceBeyondRatio(state, i, 1) >= threshold);
  // The "below" rejections form a suffix: search the complement, which is a prefix.
  const lastKept = lastOfPrefix(RATIO_GRID.length, (i) => logEvidenceBeyondRatio(state, i, -1) < threshold);
  return {
    lower: lowIndex < 0 ? 0 : (RATIO_GRID[lowIndex] ?? 0),
    upper: RATIO_GRID[lastKept + 1] ?? Number.POSITIVE_INFINITY,
  };
}
