import { createHash } from 'node:crypto';
import type { RolloutSpec, RouteMatch, Step } from './schema.js';

/** What one step asks of the route: the users' weight, a mirror copy, header routes to the canary. */
export interface StepTraffic {
  /** Percent of user requests sent to the canary. */
  weight: number;
  /** Percent of the managed route's requests copied to the canary (answers dropped); only on a mirror step. */
  mirrorPercent?: number;
  /** Requests matching any of these go to the canary; from the headerRoute step to the end of the rollout. */
  headerMatches?: RouteMatch[];
}

export type StepKind = 'weight' | 'mirror' | 'headerRoute';

export function stepKind(step: Step): StepKind {
  if (step.mirror) return 'mirror';
  if (step.headerRoute) return 'headerRoute';
  return 'weight';
}

/**
 * The traffic of step `index` (0-based): a weight step sets its weight; a mirror step keeps users on stable
 * (weight 0); a headerRoute step keeps the weight of the step before it. A header route, once reached, stays.
 */
export function stepTraffic(steps: RolloutSpec['steps'], index: number): StepTraffic {
  let weight = 0;
  let headerMatches: RouteMatch[] | undefined;
  for (const step of steps.slice(0, index + 1)) {
    if (step.weight !== undefined) weight = step.weight;
    if (step.headerRoute) headerMatches = step.headerRoute.match;
  }
  const mirror = steps[index]?.mirror;
  return {
    weight,
    ...(mirror ? { mirrorPercent: mirror.percent } : {}),
    ...(headerMatches ? { headerMatches } : {}),
  };
}

/** How a step reads in status lines and plans: `25`, `mirror 100%`, `header route`. */
export function describeStep(step: Step): string {
  if (step.mirror) return `mirror ${step.mirror.percent}%`;
  if (step.headerRoute) return 'header route';
  return String(step.weight);
}

/** A short, stable id of a header route's matches: a changed spec gets a new added route, not a stale one. */
export function headerRouteId(matches: RouteMatch[]): string {
  return createHash('sha256').update(JSON.stringify(matches)).digest('hex').slice(0, 10);
}
