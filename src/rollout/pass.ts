import type { RolloutSpec, Step } from '../api/schema.js';
import { stepTraffic, type StepTraffic } from '../api/steps.js';
import type { AnalysisStatus, Phase, RolloutStatus } from '../api/status.js';
import type { CheckResult } from '../analysis/types.js';
import type { Move } from './phase-table.js';
import { recordReleaseEnd } from './history.js';
import { describeRevision } from './revision-images.js';
import { observedTemplate } from './templates.js';
import type { Action, Announcement, Observed } from './types.js';

export const freshAnalysis = (): AnalysisStatus => ({
  checks: 0,
  failed: 0,
  inconclusive: 0,
  consecutiveInconclusive: 0,
});

/**
 * Everything one decision works on: the spec, a draft of the new status, what was observed, the clock,
 * and the actions and announcements accumulated so far. Phase handlers only touch a Pass.
 */
export class Pass {
  readonly status: RolloutStatus;
  readonly announcements: Announcement[] = [];
  /** Every phase change of this pass, in order (checked against PHASE_TABLE by the tests). */
  readonly moves: Move[] = [];
  private readonly actionsByKind = new Map<Action['kind'], Action>();
  private readonly wakeTimes: number[] = [];
  private check: CheckResult | undefined;
  /** Set while the spec is invalid or the target missing mid-rollout: why nothing may move forward (still guarded). */
  hold: string | undefined;
  private readonly checkScope: string;

  constructor(
    private readonly rolloutSpec: RolloutSpec | undefined,
    previous: RolloutStatus,
    readonly observed: Observed,
    readonly now: Date,
    /** Where this Rollout's check grid lies in the interval (checks.ts `checkGridOffsetMs`). */
    readonly checkOffsetMs = 0,
  ) {
    this.status = structuredClone(previous);
    this.check = observed.check;
    this.checkScope = scopeOf(previous);
  }

  /** The spec; only handlers that run on a valid spec call this. */
  get spec(): RolloutSpec {
    if (!this.rolloutSpec) throw new Error('no valid spec in this pass');
    return this.rolloutSpec;
  }

  get phase(): Phase | undefined {
    return this.status.phase;
  }

  get nowMs(): number {
    return this.now.getTime();
  }

  get nowIso(): string {
    return this.now.toISOString();
  }

  /** The current step (1-based `currentStep`). */
  step(): Step {
    const step = this.spec.steps[(this.status.currentStep ?? 1) - 1];
    if (!step) throw new Error(`status.currentStep ${this.status.currentStep} is outside spec.steps`);
    return step;
  }

  /** What the current step asks of the route. */
  traffic(): StepTraffic {
    this.step();
    return stepTraffic(this.spec.steps, (this.status.currentStep ?? 1) - 1);
  }

  stepLabel(): string {
    const traffic = this.traffic();
    const kind = this.step().mirror ? `mirror ${traffic.mirrorPercent}%` : `weight ${traffic.weight}%`;
    // Before the step's weight is set (its pods start, or a check of the weight held meanwhile did not pass), the
    // checks judge the weight the canary still carries: say which.
    const held =
      this.status.heldWeightSince && !this.status.stepStartedAt
        ? `; the canary still at ${this.status.canaryWeight ?? 0}%`
        : '';
    return `step ${this.status.currentStep}/${this.spec.steps.length} (${kind}${traffic.headerMatches ? ', header route' : ''}${held})`;
  }

  get analysis(): AnalysisStatus {
    this.status.analysis ??= freshAnalysis();
    return this.status.analysis;
  }

  /** Total replicas of the service: the target's when it still has some, else what was recorded. */
  desiredReplicas(): number {
    const fromTarget = this.observed.target?.replicas ?? 0;
    return fromTarget > 0 ? fromTarget : (this.status.replicas ?? 1);
  }

  /**
   * The check run for this pass, once, and only while the rollout is still on the revision and step it was
   * run for (a new revision or a command earlier in the pass makes it stale).
   */
  takeCheck(): CheckResult | undefined {
    const check = this.check;
    this.check = undefined;
    return check && scopeOf(this.status) === this.checkScope ? check : undefined;
  }

  /** `hash (image …)` for messages: the images that set the revision apart from the other track's. */
  revisionText(revision: string | undefined): string {
    if (revision === undefined) return String(revision);
    const s = this.status;
    const other = revision === s.stableRevision ? s.canaryRevision : s.stableRevision;
    // Stable's template before an abandoned promotion is kept in the status; the others are observed.
    const templateOf = (r: string | undefined) =>
      observedTemplate(this.observed, r) ??
      (r !== undefined && r === s.previousStable?.revision ? s.previousStable.template : undefined);
    return describeRevision(templateOf, revision, other);
  }

  /** Each action kind is a desired state, so a later one of the same kind replaces an earlier one. */
  act(action: Action): void {
    this.actionsByKind.delete(action.kind);
    this.actionsByKind.set(action.kind, action);
  }

  actions(): Action[] {
    return [...this.actionsByKind.values()];
  }

  announce(
    type: Announcement['type'],
    reason: string,
    message: string,
    finding?: Announcement['finding'],
  ): void {
    this.announcements.push({ type, reason, message, ...(finding ? { finding } : {}) });
  }

  moveTo(
    phase: Phase,
    reason: string,
    message: string,
    type: Announcement['type'] = 'Normal',
    finding?: Announcement['finding'],
  ): void {
    this.moves.push({ from: this.status.phase, to: phase, reason });
    this.status.phase = phase;
    this.status.reason = reason;
    this.status.message = message;
    this.announce(type, reason, message, finding);
    recordReleaseEnd(this.status, this.observed, this.nowIso, phase, reason, message);
  }

  /** Status message without a transition (progress notes such as "waiting for pods"). */
  note(message: string): void {
    this.status.message = message;
  }

  wakeAt(timeMs: number): void {
    this.wakeTimes.push(Math.max(0, timeMs - this.nowMs));
  }

  wakeIn(ms: number): void {
    this.wakeTimes.push(Math.max(0, ms));
  }

  requeueAfterMs(): number | undefined {
    return this.wakeTimes.length ? Math.min(...this.wakeTimes) : undefined;
  }
}

/**
 * When the traffic the checks judge took effect: the current step's start, or, while the step waits for the canary
 * pods it needs, when the weight the canary still carries was set (`heldWeightSince`).
 */
export const judgedSince = (status: RolloutStatus) => status.stepStartedAt ?? status.heldWeightSince;

function scopeOf(status: RolloutStatus): string {
  return `${status.canaryRevision}/${status.currentStep}/${judgedSince(status)}`;
}
