// A small simulated cluster for driving the state machine tick by tick on a virtual clock.
// Pods become ready some seconds after a Deployment changes; checks come from a scripted analysis.
// After every pass it asserts the invariants of DESIGN §3.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { type RolloutSpec, type RolloutSpecInput, rolloutSpecSchema } from '../../src/api/schema.js';
import { headerRouteId, stepTraffic } from '../../src/api/steps.js';
import type { RolloutStatus } from '../../src/api/status.js';
import type { CheckResult } from '../../src/analysis/types.js';
import { checkDue, type DueCheck } from '../../src/rollout/checks.js';
import { specForPass, underWay } from '../../src/rollout/last-valid-spec.js';
import { isAllowedMove } from '../../src/rollout/phase-table.js';
import { canaryReplicas } from '../../src/rollout/plan.js';
import { decide } from '../../src/rollout/transitions.js';
import type {
  Action,
  Announcement,
  Decision,
  Observed,
  WorkloadObservation,
} from '../../src/rollout/types.js';

export const template = (image: string): V1PodTemplateSpec => ({
  metadata: { labels: { app: 'product-service' } },
  spec: { containers: [{ name: 'app', image }] },
});

interface SimDeployment {
  image: string;
  replicas: number;
  readyAt: number;
  /** Ready pods before `readyAt` (a rolling update keeps some old ones serving); none unless a test says so. */
  readyMeanwhile?: number;
}

export interface CheckContext {
  world: World;
  image: string;
  weight: number;
  due: DueCheck;
}

export type Checker = (ctx: CheckContext) => CheckResult;

/** A canary judged by a threshold-style check: `errorRate` per image, requests from the weight. */
export function scriptedChecker(errorRates: Record<string, number>, rps = 100, limit = 0.01): Checker {
  return ({ world, image, weight, due }) => {
    const seconds = (world.now - due.stepStartedAt.getTime()) / 1000;
    const requests = Math.floor((rps * weight * seconds) / 100);
    const errorRate = errorRates[image] ?? 0;
    if (requests === 0)
      return { verdict: 'inconclusive', metrics: {}, failures: [], inconclusive: ['no canary traffic'] };
    const failures =
      errorRate > limit
        ? [
            {
              metric: 'errorRate',
              value: errorRate,
              limit,
              message: `canary error rate ${errorRate * 100}% is above the limit ${limit * 100}%`,
            },
          ]
        : [];
    return {
      verdict: failures.length ? 'fail' : 'pass',
      requests,
      errorRate,
      p99Ms: 20,
      metrics: {},
      failures,
      inconclusive: [],
    };
  };
}

export interface Transition {
  at: number;
  decision: Decision;
  before: RolloutStatus;
  observed: Observed;
}

export class World {
  now = Date.parse('2026-01-01T00:00:00Z');
  readonly start = this.now;
  spec: RolloutSpec;
  status: RolloutStatus = {};
  generation = 1;
  target: { image: string; replicas: number };
  /** The target Deployment was deleted (its last image and replicas stay for when it comes back). */
  targetDeleted = false;
  stable?: SimDeployment;
  canary?: SimDeployment;
  vsWeight = 10; // the user's VirtualService starts at 90/10 as in the shared example
  /** What a mirror or headerRoute step added to the route: the mirror percent and the header route's id. */
  vsAdded: { mirrorPercent?: number; headerRoute?: string } = {};
  problems: Observed['problems'] = [];
  /** A spec as the user edited it (possibly invalid), instead of `spec`. */
  editedSpec?: unknown;
  awaitingRouting?: string;
  command?: { id: string; name: string };
  podReadyMs = 3_000;
  readyDelayFor: (image: string) => number = () => this.podReadyMs;
  checker: Checker;
  /** Drop the actions of the next pass (the controller died before doing them). */
  crashNextPass = false;
  readonly log: Transition[] = [];
  readonly weights: {
    at: number;
    weight: number;
    mirrorPercent?: number;
    headerRoute?: boolean;
    phase?: string;
    step?: number;
  }[] = [];

  constructor(spec: RolloutSpecInput, image = 'app:v1', checker: Checker = scriptedChecker({})) {
    this.spec = rolloutSpecSchema.parse(spec);
    this.target = { image, replicas: 4 };
    this.checker = checker;
  }

  get announcements(): Announcement[] {
    return this.log.flatMap((t) => t.decision.announcements);
  }

  private observe(w: SimDeployment | undefined): WorkloadObservation | undefined {
    if (!w) return undefined;
    const ready = this.now >= w.readyAt;
    return {
      revision: w.image,
      template: template(w.image),
      replicas: w.replicas,
      readyReplicas: ready ? w.replicas : Math.min(w.readyMeanwhile ?? 0, w.replicas),
      rolledOut: ready,
    };
  }

  observed(check?: CheckResult): Observed {
    return {
      generation: this.generation,
      problems: this.problems,
      ...(this.targetDeleted
        ? {
            targetMissing: { path: 'spec.targetRef.name', message: 'Deployment "product-service" not found' },
          }
        : {
            target: {
              revision: this.target.image,
              template: template(this.target.image),
              replicas: this.target.replicas,
            },
          }),
      stable: this.observe(this.stable),
      canary: this.observe(this.canary),
      canaryWeight: this.vsWeight,
      routeAdded: this.vsAdded,
      ...(this.awaitingRouting ? { awaitingRouting: this.awaitingRouting } : {}),
      ...(this.command ? { command: this.command } : {}),
      ...(check ? { check } : {}),
    };
  }

  /** One controller pass: run a due check, decide, apply, assert the invariants. */
  pass(): Decision {
    const due = checkDue(
      specForPass(this.editedSpec ?? this.spec, this.status).spec,
      this.status,
      new Date(this.now),
    );
    const check = due
      ? this.checker({
          world: this,
          image: this.canary?.image ?? '',
          // The canary's share of the requests: the users' weight, or the mirrored copies.
          weight: Math.max(this.vsWeight, this.vsAdded.mirrorPercent ?? 0),
          due,
        })
      : undefined;
    const forPass = specForPass(this.editedSpec ?? this.spec, this.status);
    const observed = this.observed(check);
    if (!forPass.guarding) observed.problems = [...observed.problems, ...forPass.problems];
    const before = this.status;
    const decision = decide({
      spec: observed.problems.length ? undefined : forPass.spec,
      status: before,
      observed,
      now: new Date(this.now),
      ...(forPass.guarding ? { specProblems: forPass.problems } : {}),
    });
    // The status must survive a JSON round trip: it is all a restarted controller has.
    const status = JSON.parse(JSON.stringify(decision.status)) as RolloutStatus;
    if (this.crashNextPass) {
      this.crashNextPass = false;
      return decision;
    }
    this.assertInvariants(before, decision, observed);
    for (const action of decision.actions) this.apply(action);
    this.status = status;
    this.log.push({ at: this.now, decision, before, observed });
    return decision;
  }

  private apply(action: Action): void {
    const readyAt = (image: string) => this.now + this.readyDelayFor(image);
    switch (action.kind) {
      case 'setCanaryWeight':
        this.vsWeight = action.weight;
        this.vsAdded = {
          ...(action.mirrorPercent !== undefined && { mirrorPercent: action.mirrorPercent }),
          ...(action.headerMatches && { headerRoute: headerRouteId(action.headerMatches) }),
        };
        this.weights.push({
          at: this.now,
          weight: action.weight,
          ...(action.mirrorPercent !== undefined && { mirrorPercent: action.mirrorPercent }),
          ...(action.headerMatches && { headerRoute: true }),
          phase: this.status.phase,
          step: this.status.currentStep,
        });
        break;
      case 'applyStable': {
        const image = action.template.spec!.containers[0]!.image!;
        const changed = !this.stable || this.stable.image !== image || this.stable.replicas < action.replicas;
        this.stable = {
          image,
          replicas: action.replicas,
          readyAt: changed ? readyAt(image) : this.stable!.readyAt,
        };
        break;
      }
      case 'applyCanary': {
        const image = action.template.spec!.containers[0]!.image!;
        const changed = !this.canary || this.canary.image !== image || this.canary.replicas < action.replicas;
        this.canary = {
          image,
          replicas: action.replicas,
          readyAt: changed ? readyAt(image) : this.canary!.readyAt,
        };
        break;
      }
      case 'scaleCanary':
        if (this.canary) this.canary.replicas = action.replicas;
        break;
      case 'scaleTarget':
        this.target.replicas = action.replicas;
        break;
    }
  }

  /** DESIGN §3, checked after every pass. */
  private assertInvariants(before: RolloutStatus, decision: Decision, observed: Observed): void {
    const after = decision.status;
    // Every move is an edge of the transition table, and the moves chain from the phase the pass began in.
    let phase = before.phase;
    for (const move of decision.moves) {
      expect(move.from, `move ${JSON.stringify(move)}`).toBe(phase);
      expect(isAllowedMove(move), `move ${JSON.stringify(move)} is not in PHASE_TABLE`).toBe(true);
      phase = move.to;
    }
    expect(after.phase).toBe(phase);
    const weightAction = decision.actions.find((a) => a.kind === 'setCanaryWeight');
    // §3.6: invalid input never changes traffic (nor anything else).
    if (
      observed.problems.length ||
      (observed.targetMissing && !underWay(before)) ||
      (observed.awaitingRouting && before.phase && before.phase !== 'Initializing')
    ) {
      expect(decision.actions).toEqual([]);
    }
    // While routing awaits the subsets, traffic is never touched.
    if (observed.awaitingRouting)
      expect(decision.actions.some((a) => a.kind === 'setCanaryWeight')).toBe(false);
    // §3.2 / §3.3: any move of traffic away from the canary is the first action.
    if (weightAction && weightAction.weight < (observed.canaryWeight ?? 0)) {
      expect(decision.actions[0]).toEqual(weightAction);
    }
    // (An abandoned promotion keeps the canary's weight until stable is back on its old template: promotion.ts.)
    const restoring = before.phase === 'Promoting' && after.previousStable !== undefined;
    if (
      (after.phase === 'RolledBack' || after.phase === 'Aborted') &&
      before.phase !== after.phase &&
      !restoring
    ) {
      if ((observed.canaryWeight ?? 0) > 0)
        expect(decision.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    }
    // §3.1: the canary never gets more than the step's weight, nor traffic before its pods for that weight are ready.
    if (weightAction && weightAction.weight > (observed.canaryWeight ?? 0)) {
      expect(['Progressing', 'Paused']).toContain(after.phase);
      const step = stepTraffic(this.spec.steps, (after.currentStep ?? 1) - 1);
      expect(weightAction.weight).toBeLessThanOrEqual(step.weight);
      const needed = canaryReplicas(this.status.replicas ?? this.target.replicas, weightAction.weight);
      expect(observed.canary?.revision).toBe(after.canaryRevision);
      expect(observed.canary?.readyReplicas ?? 0).toBeGreaterThanOrEqual(needed);
    }
    // A mirror step keeps users on stable; nothing of a step's stays on the route once the rollout is not under way.
    const routeAction = decision.actions.find((a) => a.kind === 'setCanaryWeight');
    if (routeAction?.mirrorPercent !== undefined) expect(routeAction.weight).toBe(0);
    if (routeAction && !['Progressing', 'Paused'].includes(after.phase ?? '')) {
      expect(routeAction.mirrorPercent).toBeUndefined();
      expect(routeAction.headerMatches).toBeUndefined();
    }
    // §3.2: stable is never scaled down during a rollout.
    const stableAction = decision.actions.find((a) => a.kind === 'applyStable');
    if (stableAction && this.stable && ['Progressing', 'Paused', 'Promoting'].includes(after.phase ?? '')) {
      expect(stableAction.replicas).toBeGreaterThanOrEqual(this.stable.replicas);
    }
    // §3.5: a step never passes on a check that was not a pass.
    if (observed.check && observed.check.verdict !== 'pass' && before.phase === 'Progressing') {
      const advanced = (after.currentStep ?? 0) > (before.currentStep ?? 0) || after.phase === 'Promoting';
      expect(advanced && after.canaryRevision === before.canaryRevision).toBe(false);
    }
  }

  /** Passes every `tickMs` until `until` holds or `maxMs` of virtual time went by. */
  runUntil(until: (w: World) => boolean, maxMs = 30 * 60_000, tickMs = 500): void {
    const end = this.now + maxMs;
    this.pass();
    while (!until(this) && this.now < end) {
      this.now += tickMs;
      this.pass();
    }
    if (!until(this))
      throw new Error(`condition not reached; phase ${this.status.phase}, ${this.status.message}`);
  }

  runFor(ms: number, tickMs = 500): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += tickMs;
      this.pass();
    }
  }

  phases(): string[] {
    const out: string[] = [];
    for (const t of this.log) {
      const phase = t.decision.status.phase!;
      if (out[out.length - 1] !== phase) out.push(phase);
    }
    return out;
  }

  release(image: string): void {
    this.target.image = image;
  }

  sendCommand(name: string, id = `cmd-${this.now}`): void {
    this.command = { id, name };
  }
}

export const baseSpec: RolloutSpecInput = {
  targetRef: { name: 'product-service' },
  trafficRouting: {
    istio: { virtualService: { name: 'product-service' }, destinationRule: { name: 'product-service' } },
  },
  analysis: { interval: '10s', stepDuration: '1m', minRequests: 50 },
};
