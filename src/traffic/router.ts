import type { Problem } from '../api/validate.js';

export type { Problem };

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

/** Moves traffic between the stable and canary tracks; touches nothing but the weights. */
export interface TrafficRouter {
  /** Reads and checks the routing objects; never changes them. */
  inspect(): Promise<RoutingInspection>;
  /** Sets the canary's share (0–100) of every managed route; stable gets the rest. */
  setCanaryWeight(weight: number): Promise<void>;
}

/** Thrown by setCanaryWeight when the routing objects are not usable; carries the same Problems as inspect. */
export class RoutingProblemsError extends Error {
  override readonly name = 'RoutingProblemsError';
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}
