import { headerRouteId, stepTraffic, type StepTraffic } from '../api/steps.js';
import type { Pass } from './pass.js';

// What the route object must carry follows status, as the weight always has: status.canaryWeight, and during a
// mirror or headerRoute step status.mirrorPercent and status.headerRoute (set in progress once the canary is ready).

/** The route state status asks for: its weight, and its mirror and header route while the rollout is under way. */
export function wantedRoute(p: Pass): StepTraffic | undefined {
  const s = p.status;
  if (s.canaryWeight === undefined) return undefined;
  const underWay = p.phase === 'Progressing' || p.phase === 'Paused';
  const step = (s.currentStep ?? 0) - 1;
  const headerMatches =
    underWay && s.headerRoute && step >= 0 ? stepTraffic(p.spec.steps, step).headerMatches : undefined;
  return {
    weight: s.canaryWeight,
    ...(underWay && s.mirrorPercent !== undefined && { mirrorPercent: s.mirrorPercent }),
    ...(headerMatches && { headerMatches }),
  };
}

/** Whether the route object, as observed, carries what status asks for. */
export function routeCarriesStatus(p: Pass): boolean {
  const wanted = wantedRoute(p);
  const observed = p.observed;
  if (wanted === undefined) return true;
  const added = observed.routeAdded ?? {};
  return (
    observed.canaryWeight === wanted.weight &&
    added.mirrorPercent === wanted.mirrorPercent &&
    added.headerRoute === (wanted.headerMatches && headerRouteId(wanted.headerMatches))
  );
}
