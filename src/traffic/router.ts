import type { StepTraffic } from '../api/steps.js';
import type { Problem } from '../api/validate.js';

export type { Problem };

/**
 * What Stepwise wants on the route object: the canary's weight, and what a mirror or headerRoute step adds. Fields
 * left out are removed, so `{ weight: 0 }` is all traffic on stable and nothing of Stepwise's left in the object.
 */
export type RouteState = StepTraffic;

/** What Stepwise added to the route object, as found there (this step's, or left over from a crash). */
export interface RouteAdditions {
  /** The percent mirrored to the canary by the managed route(s). */
  mirrorPercent?: number;
  /** The id of the header route found (see headerRouteId), when there is one. */
  headerRoute?: string;
}

export type RoutingInspection =
  | {
      ok: true;
      /** Canary weight on the (first) managed route. */
      canaryWeight: number;
      /**
       * False when the managed routes disagree, or a route's stable weight is not 100 − canary weight:
       * the controller should set the weight it wants even if `canaryWeight` already equals it.
       */
      inSync: boolean;
      /** The canary's service (a subset split's one host, a host split's canary Service): whose callers' reports the analysis reads. */
      host?: string;
      /** The Services a Gateway API route is attached to (GAMMA parentRefs): those its callers address. */
      parentServices?: string[];
      /** Stepwise's own mirror and header route in the object; `inSync` is false when they are not the same on every managed route. */
      added: RouteAdditions;
      /** Planned steps whose additions the route object cannot take (inspect's `planned`), with the reason and fix. */
      refused?: RefusedStep[];
    }
  | {
      ok: false;
      problems: Problem[];
      /**
       * The VirtualService routes without any subset yet (how a service runs before adopting Stepwise) and
       * the DestinationRule is ready: adoption can prepare `-stable` while the user's routing keeps serving.
       */
      awaitingSubsets?: boolean;
    };

/**
 * Moves traffic between the stable and canary tracks. It touches the two weights of the managed routes, and adds
 * (and removes) only what a step asks for, marked as Stepwise's: a mirror to the canary on the managed routes, and
 * a header route to the canary placed where the mesh looks before the managed route.
 */
export interface TrafficRouter {
  /**
   * Reads and checks the routing objects; never changes them. `planned`: the states the Rollout's steps will ask
   * for, tried on the object as it is, so that one it cannot take is said before the rollout reaches that step.
   */
  inspect(planned?: PlannedStep[]): Promise<RoutingInspection>;
  /** Sets the canary's share (0–100) of every managed route (stable gets the rest) and exactly the additions asked. */
  setRoute(state: RouteState): Promise<void>;
}

/** A state a step will ask of the route (`step`: 0-based index into spec.steps). */
export interface PlannedStep {
  step: number;
  state: RouteState;
}

/** A planned step whose additions the route object cannot take. */
export interface RefusedStep {
  step: number;
  message: string;
}

/**
 * The planned steps that `withAdditions` (a dry run of what setRoute would write, on a copy) refuses, each refusal
 * once, at the first step that meets it.
 */
export function refusedSteps(
  planned: PlannedStep[],
  withAdditions: (state: RouteState) => unknown,
): RefusedStep[] {
  const refused: RefusedStep[] = [];
  for (const { step, state } of planned) {
    try {
      withAdditions(state);
    } catch (error) {
      if (!(error instanceof RoutingProblemsError)) throw error;
      const message = error.problems.map((p) => p.message).join('; ');
      if (!refused.some((r) => r.message === message)) refused.push({ step, message });
    }
  }
  return refused;
}

/** Thrown by setRoute when the routing objects are not usable; carries the same Problems as inspect. */
export class RoutingProblemsError extends Error {
  override readonly name = 'RoutingProblemsError';
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}
