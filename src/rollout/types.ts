import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { RolloutSpec } from '../api/schema.js';
import type { StepTraffic } from '../api/steps.js';
import type { Announcement, RolloutStatus } from '../api/status.js';
import type { Problem } from '../api/validate.js';
import type { CheckResult } from '../analysis/types.js';
import type { WorkloadObservation } from '../workload/deployments.js';
import type { Move } from './phase-table.js';

export type { WorkloadObservation };

/** Everything the controller read from the world for one pass. */
export interface Observed {
  generation: number;
  /** Spec and environment problems (missing target, VirtualService, bad route...): the rollout cannot run. */
  problems: Problem[];
  target?: { revision: string; template: V1PodTemplateSpec; replicas: number };
  stable?: WorkloadObservation;
  canary?: WorkloadObservation;
  /**
   * Set while the VirtualService still routes without the track subsets (before adoption): what the user must
   * change. Initializing prepares `-stable` meanwhile; in any other phase it is a problem like the others.
   */
  awaitingRouting?: string;
  /**
   * The target Deployment is gone. While a canary may carry traffic the router can still act, so the rollout
   * holds, guarded by the last valid spec; in any other phase it is a problem like the others.
   */
  targetMissing?: Problem;
  /** Canary weight currently on the managed routes (undefined when it could not be read). */
  canaryWeight?: number;
  /** Stepwise's mirror and header route as found on the route object (only read with the weight). */
  routeAdded?: { mirrorPercent?: number; headerRoute?: string };
  /** The command annotation pair, when present on the Rollout. */
  command?: { id: string; name: string };
  /** The analysis check run in this pass, when one was due (see `checkDue`). */
  check?: CheckResult;
}

/** What the controller must do for a decision. Every action is idempotent. */
export type Action =
  /** The canary's weight, and what a mirror or headerRoute step adds to the route (left out: removed). */
  | ({ kind: 'setCanaryWeight' } & StepTraffic)
  | { kind: 'applyStable'; template: V1PodTemplateSpec; revision: string; replicas: number }
  | { kind: 'applyCanary'; template: V1PodTemplateSpec; revision: string; replicas: number }
  | { kind: 'scaleCanary'; replicas: number }
  | { kind: 'scaleTarget'; replicas: 0 };

export type { Announcement };

export interface Decision {
  status: RolloutStatus;
  /**
   * In order. The controller applies canary weight decreases before writing status (traffic leaves the
   * canary first) and everything else after (traffic reaches the canary only once status records it).
   */
  actions: Action[];
  announcements: Announcement[];
  /** The phase changes, in order; each is an edge of PHASE_TABLE. */
  moves: Move[];
  /** When the controller should look again even if nothing changes in the cluster. */
  requeueAfterMs?: number;
}

export interface DecideInput {
  /** Undefined when the spec is invalid; `observed.problems` then says why. */
  spec: RolloutSpec | undefined;
  /** The Rollout's own spec is invalid and `spec` is the last valid one (see last-valid-spec.ts). */
  specProblems?: Problem[];
  status: RolloutStatus;
  observed: Observed;
  now: Date;
  /** Where the Rollout's check grid lies in the interval (rollout/checks.ts `checkGridOffsetMs`); 0 when absent. */
  checkOffsetMs?: number;
}
