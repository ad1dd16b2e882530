import { z } from 'zod';
import { rateRatioBounds, type RateRatioBounds } from './confidence.js';
import {
  addInterval,
  logEvidenceAgainstCanary,
  newRateRatioState,
  RATIO_GRID,
  ROLLBACK_RATIOS,
  type RateRatioState,
} from './eprocess.js';
import { boundedExp, logSumExp } from './special.js';

/** What the comparison watches: 5xx responses and requests slower than the latency edge. */
export type GuardName = 'errors' | 'slow';
export const GUARDS: readonly GuardName[] = ['errors', 'slow'];

/** The comparison's memory for one canary revision, across all steps; stored as JSON in the Rollout status. */
export interface ComparisonState {
  version: 1;
  errors: RateRatioState;
  slow: RateRatioState;
}

/** Counts of one arm over one interval (differences of counters, not rates). */
export interface ArmCounts {
  requests: number;
  errors: number;
  /** Requests slower than the latency edge: count - bucket{le=edge}. */
  slow: number;
}

export interface ComparisonIncrement {
  canary: ArmCounts;
  stable: ArmCounts;
  /**
   * What the errors guard counts when not `canary`/`stable`'s requests and errors: e.g. the requests and 5xx as the
   * callers saw them, or server-side attempts with the weight that keeps a retried request from counting more than
   * once (see errorCounts in counter-comparison.ts).
   */
  errors?: ErrorCounts;
}

/** Requests and 5xx of both arms in one interval, each count scaled by `weight` (0 < weight <= 1). */
export interface ErrorCounts {
  canary: { requests: number; errors: number };
  stable: { requests: number; errors: number };
  weight: number;
}

export interface ComparisonUpdate {
  state: ComparisonState;
  /** Evidence against the canary, compared with 1/alpha: the mean of the guards' e-values. */
  evidence: number;
  rollback: boolean;
  /** The guard with the most evidence against the canary, when rolling back. */
  guard?: GuardName;
  /** Each guard's (1 - alpha) confidence sequence for the canary/stable rate ratio. */
  rateRatio: Record<GuardName, RateRatioBounds>;
}

/**
 * What the spread of stable's pods allows the errors guard (pod-spread.ts): the canary's 5xx rate counts as "no worse"
 * up to `ratio` × stable's, and `alphaSpent` of the budget covers the chance that the canary's pods lie beyond it. The
 * rest of the budget is the e-process's.
 */
export interface PodAllowance {
  ratio: number;
  alphaSpent: number;
}

const NO_ALLOWANCE: PodAllowance = { ratio: 1, alphaSpent: 0 };

export function newComparisonState(): ComparisonState {
  return { version: 1, errors: newRateRatioState(), slow: newRateRatioState() };
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) {
    throw new RangeError(
      `comparison.falseRollbackRate must be between 0 and 1 (exclusive), got ${alpha}; use e.g. 0.01`,
    );
  }
}

/**
 * The share of the evidence each guard's e-value gets. A 5xx is a failed request, a slow one still an answer, so the
 * errors guard gets two thirds: it then rolls back once its own e-value reaches 1.5/alpha instead of 2/alpha, while
 * a slow canary, whose slow requests come many times more often than 5xx, is still caught at 3/alpha.
 */
export const GUARD_WEIGHTS: Record<GuardName, number> = { errors: 2 / 3, slow: 1 / 3 };

/**
 * One budget alpha covers both guards by a weighted mean of their e-values: a mixture of e-processes with weights
 * fixed in advance is an e-process (Vovk & Wang 2021, Ann. Stat. 49:1736, "E-values: calibration, combination and
 * applications"), and it reaches 1/alpha whenever a guard alone reaches 1/(weight alpha), so it is never slower than
 * splitting alpha by the same weights and faster when both guards see the canary worse.
 */
function logMeanEvidence(state: ComparisonState): number {
  return logSumExp(GUARDS.map((g) => logEvidenceAgainstCanary(state[g]) + Math.log(GUARD_WEIGHTS[g])));
}

/** Evidence against the canary so far, on the scale compared with 1/alpha. */
export function comparisonEvidence(state: ComparisonState): number {
  return boundedExp(logMeanEvidence(state));
}

/**
 * Adds one interval of traffic to both guards and decides. The canary's share pi0 is the share of requests it
 * actually received in the interval, the same for both guards. Keep one state for the whole rollout (all steps):
 * restarting it per step would spend alpha again at every step.
 */
export function updateComparison(
  state: ComparisonState,
  increment: ComparisonIncrement,
  budget: number,
  allowance: PodAllowance = NO_ALLOWANCE,
): ComparisonUpdate {
  checkAlpha(budget);
  const alpha = budget - allowance.alphaSpent;
  checkAlpha(alpha);
  const requests = { canaryRequests: increment.canary.requests, stableRequests: increment.stable.requests };
  const errors = increment.errors ?? { canary: increment.canary, stable: increment.stable, weight: 1 };
  const next: ComparisonState = {
    version: 1,
    // Scaling both arms' events by the weight raises the interval's likelihood ratio to that power.
    errors: addInterval(
      state.errors,
      {
        canaryRequests: errors.canary.requests,
        stableRequests: errors.stable.requests,
        canaryEvents: errors.weight * errors.canary.errors,
        stableEvents: errors.weight * errors.stable.errors,
      },
      allowance.ratio,
    ),
    slow: addInterval(state.slow, {
      ...requests,
      canaryEvents: increment.canary.slow,
      stableEvents: increment.stable.slow,
    }),
  };
  const logEvidence = logMeanEvidence(next);
  const rollback = logEvidence >= Math.log(1 / alpha);
  const update: ComparisonUpdate = {
    state: next,
    evidence: boundedExp(logEvidence),
    rollback,
    rateRatio: { errors: rateRatioBounds(next.errors, alpha), slow: rateRatioBounds(next.slow, alpha) },
  };
  if (rollback) {
    update.guard =
      logEvidenceAgainstCanary(next.errors) >= logEvidenceAgainstCanary(next.slow) ? 'errors' : 'slow';
  }
  return update;
}

/**
 * Evidence against the canary (on the e-value scale) at and above which a step is held for more data, below the
 * rollback level 1/alpha. An e-value is the factor by which the data favour "canary worse" over "no worse" (Shafer
 * 2021, J. R. Stat. Soc. A 184:407, "Testing by betting"); 10 is halfway to the default rollback level 100 on that
 * log scale, and a good canary ever reaches it with probability at most 1/10 (Ville's inequality), far less in
 * practice. A worse canary that would have passed a step on too few events is watched longer instead. Holding only
 * decides how long the test goes on, so the false-rollback rate stays alpha: Ville's inequality holds at every
 * stopping time, and an e-process may be continued on data-dependent grounds (optional continuation: Grünwald, de
 * Heide & Koolen 2024, J. R. Stat. Soc. B 86:1091, "Safe testing"; Ramdas et al. 2023, Stat. Sci. 38:576).
 */
export const HOLD_EVIDENCE = 10;

/**
 * Whether a step whose minimum duration and requests are met may pass on the comparison. Rule: pass unless the data
 * lean against the canary, i.e. unless the evidence has reached HOLD_EVIDENCE (or 1/alpha, if lower) or some
 * guard's rate-ratio lower bound (the (1 - alpha) confidence sequence) is above `tolerance`. Lack of data never
 * holds a good release (with no events the bounds are [0, inf) and the step passes); a worse canary is rolled back
 * by the evidence, at whichever step it becomes visible, and a step it leans against waits for it.
 */
export function canPass(
  state: ComparisonState,
  budget: number,
  tolerance: number,
  allowance: PodAllowance = NO_ALLOWANCE,
): boolean {
  checkAlpha(budget);
  if (!(tolerance >= 1) || !Number.isFinite(tolerance)) {
    throw new RangeError(`comparison.tolerance must be a finite number >= 1, got ${tolerance}; use e.g. 1.5`);
  }
  const alpha = budget - allowance.alphaSpent;
  if (logMeanEvidence(state) >= Math.log(holdEvidence(alpha))) return false;
  return GUARDS.every(
    (g) => rateRatioBounds(state[g], alpha).lower <= guardTolerance(g, tolerance, allowance),
  );
}

/** The evidence at which a step is held: HOLD_EVIDENCE, or the rollback level when that is lower. */
export function holdEvidence(alpha: number): number {
  return Math.min(HOLD_EVIDENCE, 1 / alpha);
}

/** The ratio above which a guard's lower bound holds a step: the errors guard allows for the pods' spread too. */
export function guardTolerance(guard: GuardName, tolerance: number, allowance: PodAllowance): number {
  return guard === 'errors' ? Math.max(tolerance, allowance.ratio) : tolerance;
}

// zod 4 numbers reject NaN and +-Infinity.
const finite = z.number();
const guardSchema = z.strictObject({
  logL: z.array(finite).length(ROLLBACK_RATIOS.length),
  canaryEvents: finite.min(0),
  stableEvents: finite.min(0),
  logNorm: z.array(finite).length(RATIO_GRID.length),
});
const stateSchema = z.strictObject({ version: z.literal(1), errors: guardSchema, slow: guardSchema });

/** The error for a stored comparison state that does not fit, naming the field under status.analysis.comparison. */
export function storedStateError(issue: { path: PropertyKey[]; message: string } | undefined): TypeError {
  const path = ['status', 'analysis', 'comparison', ...(issue?.path ?? []).map(String)].join('.');
  return new TypeError(
    `${path}: ${issue?.message ?? 'invalid'}; the comparison state is written by the controller, ` +
      'restore it or start the revision again with `stepwise retry`',
  );
}

/**
 * Reads the state stored in status.analysis.comparison (undefined: a fresh comparison). A stored state that does not
 * fit is an error naming the field, never silently reset: a reset would spend the false-rollback budget again.
 */
export function parseComparisonState(value: unknown): ComparisonState {
  if (value === undefined) return newComparisonState();
  const parsed = stateSchema.safeParse(value);
  if (!parsed.success) throw storedStateError(parsed.error.issues[0]);
  return parsed.data;
}
