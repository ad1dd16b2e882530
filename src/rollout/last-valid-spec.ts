// A spec edited into something invalid mid-rollout must not leave a canary with traffic unguarded. While a
// rollout is under way, the spec it runs on is kept in status.lastValidSpec: status is where all of a
// rollout's state lives, only the controller writes it (the status subresource), it survives restarts and
// leader changes, and `kubectl apply` or a GitOps tool never overwrites it, as they would an annotation.
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import { type Problem, validateSpec } from '../api/validate.js';

/** A canary may carry traffic: the phases that need guarding, and the restore after an abandoned promotion. */
export function underWay(status: RolloutStatus): boolean {
  const phase = status.phase;
  return phase === 'Progressing' || phase === 'Paused' || phase === 'Promoting' || !!status.previousStable;
}

export interface SpecForPass {
  /** The spec the pass runs on; undefined when there is none (nothing can be guarded). */
  spec?: RolloutSpec;
  /** The Rollout's own spec problems. */
  problems: Problem[];
  /** True when `spec` is the last valid one, because the Rollout's own is invalid. */
  guarding: boolean;
}

export function specForPass(rolloutSpec: unknown, status: RolloutStatus): SpecForPass {
  const own = validateSpec(rolloutSpec);
  if (own.ok) return { spec: own.spec, problems: [], guarding: false };
  const last = underWay(status) && status.lastValidSpec ? validateSpec(status.lastValidSpec) : undefined;
  return last?.ok
    ? { spec: last.spec, problems: own.problems, guarding: true }
    : { problems: own.problems, guarding: false };
}
