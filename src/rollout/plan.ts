import { durationMs } from '../api/duration.js';
import type { RolloutSpec, Step } from '../api/schema.js';
import { describeStep } from '../api/steps.js';

/** Minimum observation of a step: its own `duration`, else `analysis.stepDuration`. */
export function stepDurationMs(spec: RolloutSpec, step: Step): number {
  return durationMs(step.duration ?? spec.analysis.stepDuration);
}

export function intervalMs(spec: RolloutSpec): number {
  return durationMs(spec.analysis.interval);
}

export function progressDeadlineMs(spec: RolloutSpec): number {
  return durationMs(spec.progressDeadline);
}

export { canaryReplicas } from '../workload/deployments.js';

/** "mirror 100% → 5 → 25 → 50 → 100" */
export function describeSteps(spec: RolloutSpec): string {
  return spec.steps.map((s) => `${describeStep(s)}${s.pause ? ' (gate)' : ''}`).join(' → ');
}
