import {
  canPass,
  newComparisonState,
  updateComparison,
  type ComparisonState,
  type GuardName,
} from '../../src/analysis/comparison/guards.js';
import { sampleBinomial, samplePoisson, type Random } from '../../src/analysis/comparison/random.js';

/** Per-request probabilities of one arm. */
export interface ArmBehaviour {
  errorRate: number;
  slowRate: number;
}

export interface TrafficScenario {
  /** Mean requests per second over both arms (Poisson). */
  rps: number;
  stable: ArmBehaviour;
  canary: ArmBehaviour;
  alpha: number;
  tolerance: number;
  stepSeconds: number;
  steps: number;
  /** Canary share for second `t` of step `step`; may look at the evidence so far (a predictable weight). */
  weight: (step: number, t: number, state: ComparisonState) => number;
}

export interface RolloutOutcome {
  rolledBack: boolean;
  /** Seconds until rollback, or the whole rollout's length. */
  seconds: number;
  guard?: GuardName;
  /** canPass at the end of each completed step. */
  stepPassed: boolean[];
  /** Rate-ratio lower bounds at the last update. */
  lower: Record<GuardName, number>;
}

/** Runs one rollout second by second through updateComparison, as the controller would with 1 s checks. */
export function simulateRollout(random: Random, scenario: TrafficScenario): RolloutOutcome {
  let state = newComparisonState();
  const stepPassed: boolean[] = [];
  let lower = { errors: 0, slow: 0 };
  let seconds = 0;
  for (let step = 0; step < scenario.steps; step++) {
    for (let t = 0; t < scenario.stepSeconds; t++) {
      seconds += 1;
      const total = samplePoisson(random, scenario.rps);
      const canaryRequests = sampleBinomial(random, total, scenario.weight(step, t, state));
      const stableRequests = total - canaryRequests;
      const arm = (requests: number, behaviour: ArmBehaviour) => ({
        requests,
        errors: sampleBinomial(random, requests, behaviour.errorRate),
        slow: sampleBinomial(random, requests, behaviour.slowRate),
      });
      const update = updateComparison(
        state,
        { canary: arm(canaryRequests, scenario.canary), stable: arm(stableRequests, scenario.stable) },
        scenario.alpha,
      );
      state = update.state;
      lower = { errors: update.rateRatio.errors.lower, slow: update.rateRatio.slow.lower };
      if (update.rollback) return { rolledBack: true, seconds, guard: update.guard, stepPassed, lower };
    }
    stepPassed.push(canPass(state, scenario.alpha, scenario.tolerance));
  }
  return { rolledBack: false, seconds, stepPassed, lower };
}

/** The default plan: 5/25/50/100% for 60 s each at 100 rps, stable at 0.1% errors and 1% slow requests. */
export function defaultScenario(
  canary: ArmBehaviour,
  overrides: Partial<TrafficScenario> = {},
): TrafficScenario {
  const weights = [0.05, 0.25, 0.5, 1];
  return {
    rps: 100,
    stable: { errorRate: 0.001, slowRate: 0.01 },
    canary,
    alpha: 0.01,
    tolerance: 1.5,
    stepSeconds: 60,
    steps: weights.length,
    weight: (step) => weights[step] ?? 1,
    ...overrides,
  };
}

/** Upper limit of a rate that should be at most `p`, three standard errors over `runs` runs. */
export function withinThreeSe(p: number, runs: number): number {
  return p + 3 * Math.sqrt((p * (1 - p)) / runs);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
