import { durationMs } from '../api/duration.js';
import type { RolloutSpec, Step } from '../api/schema.js';

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

/** Canary pods scale with the weight, at least one (DESIGN §3.1). */
export function canaryReplicas(total: number, weight: number): number {
  return Math.max(1, Math.ceil((total * weight) / 100));
}

/** "5 → 25 → 50 → 100" */
export function describeSteps(spec: RolloutSpec): string {
  return spec.steps.map((s) => `${s.weight}${s.pause ? ' (gate)' : ''}`).join(' → ');
}
