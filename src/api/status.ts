import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { RolloutSpec } from './schema.js';

// The Rollout status: the only place a rollout's state lives. A controller restarted at any moment
// resumes from it, so everything needed to continue (step, weight, when the step started, the
// analysis counters and the comparison's evidence) is here.

export const PHASES = [
  'Initializing',
  'Healthy',
  'Progressing',
  'Paused',
  'Promoting',
  'Succeeded',
  'RolledBack',
  'Aborted',
  'Failed',
] as const;
export type Phase = (typeof PHASES)[number];

export type ConditionType = 'Ready' | 'Progressing' | 'InvalidSpec';

export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface AnalysisStatus {
  /** Checks run for the current canary revision (all steps). */
  checks: number;
  /** Failed checks for the current canary revision; a passing check never resets them. */
  failed: number;
  inconclusive: number;
  consecutiveInconclusive: number;
  lastCheckAt?: string;
  lastVerdict?: Verdict;
  /** Canary requests seen in the current step, as of the latest check. */
  requests?: number;
  errorRate?: number;
  p99Ms?: number;
  metrics?: Record<string, number>;
  /** E-value against the canary (comparison); rollback at 1/falseRollbackRate. */
  evidence?: number;
  /** Confidence bounds on the canary/stable rate ratio (comparison). */
  rateRatio?: { lower: number; upper: number };
  /** Why the latest check did not pass. */
  lastMessage?: string;
  /** State of the sequential comparison, carried across checks and steps. */
  comparison?: unknown;
  /**
   * This release replaced another mid-rollout, whose canary may have carried traffic until this release's first
   * step began: the comparison's baseline is then read at that step's own start (rollout/checks.ts `baselineAtMs`).
   */
  replacedCanary?: boolean;
}

export type CommandName = 'promote' | 'promote-full' | 'promote-full-force' | 'abort' | 'retry';

export interface CommandRecord {
  id: string;
  command: string;
  accepted: boolean;
  message: string;
  at: string;
}

/** A Kubernetes Event (and log line, and notification) describing a transition. */
export interface Announcement {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** What breached its limit, when a check decided the transition (a rollback). */
  finding?: { metric: string; value: number; limit: number };
}

/**
 * The announcements of one pass, written with its status and removed once their Events were recorded and
 * their notifications handed off: a failed action or a restart between the two never loses or repeats one.
 */
export interface OutboxEntry {
  at: string;
  /** Phase, step and weight the pass started from (a rollback's notification names the step that ran). */
  from: { phase?: Phase; currentStep?: number; canaryWeight?: number };
  /** Phase, reason and message the pass ended with. */
  to: { phase?: Phase; reason?: string; message?: string };
  announcements: Announcement[];
}

export type ReleaseOutcome = 'Succeeded' | 'RolledBack' | 'Aborted';

/** One finished release: a canary revision that was promoted, rolled back or aborted. */
export interface ReleaseRecord {
  /** The release's revision number (status.canaryRevisionNumber when it started). */
  number: number;
  revision: string;
  /** The canary's container images, `name=image`, in the pod template's order. */
  images: string[];
  outcome: ReleaseOutcome;
  reason: string;
  message: string;
  /** When the release started (the canary revision was first seen); absent for releases of older versions. */
  startedAt?: string;
  finishedAt: string;
}

export interface RolloutStatus {
  phase?: Phase;
  observedGeneration?: number;
  /** Pod-template hash running in `<app>-stable`. */
  stableRevision?: string;
  /**
   * The number of the revision in `<app>-stable`: 1 for the version adopted, then the number of each release
   * promoted into it. Numbers only grow, so "revision 7" always means the same release.
   */
  stableRevisionNumber?: number;
  /**
   * Revision and pod template `<app>-stable` had when promotion started: put back if the promotion is
   * abandoned (abort, progressDeadline) before traffic leaves the canary.
   */
  previousStable?: { revision: string; template: V1PodTemplateSpec };
  /**
   * The spec the rollout under way runs on (with defaults), kept while a canary may carry traffic: an
   * invalid edit of the spec then holds the rollout, still guarded by this one (last-valid-spec.ts).
   */
  lastValidSpec?: RolloutSpec;
  /** Pod-template hash being rolled out in `<app>-canary`. */
  canaryRevision?: string;
  /** The number of the release of canaryRevision: the next number each time a release starts (a retry too). */
  canaryRevisionNumber?: number;
  /** The revision last rolled back or aborted; not retried until `retry` or a newer revision. */
  rolledBackRevision?: string;
  /**
   * The last rollback or abort, kept through `retry`: `promote --full` of that revision skips the analysis
   * that rolled it back, so it asks for `--force`.
   */
  lastRollback?: {
    revision: string;
    phase: 'RolledBack' | 'Aborted';
    reason: string;
    message: string;
    at: string;
  };
  /** 1-based index into spec.steps; 0 when no canary is in progress. */
  currentStep?: number;
  /** The canary weight Stepwise wants on the managed routes; the VirtualService follows it. */
  canaryWeight?: number;
  /** The percent of the managed routes' requests mirrored to the canary, during a mirror step once its pods are ready. */
  mirrorPercent?: number;
  /** True once the headerRoute step's route to the canary is set; it stays until the rollout ends. */
  headerRoute?: boolean;
  /** When the current step's weight was confirmed on the VirtualService. */
  stepStartedAt?: string;
  /**
   * While a step waits for the canary pods it needs, when the weight the canary still carries (the previous step's)
   * was confirmed on the route: the checks go on judging that traffic until the new weight is set.
   */
  heldWeightSince?: string;
  /** Since when Stepwise waits for pods to become ready (progress deadline). */
  waitingSince?: string;
  /** Total replicas the service runs with (the target's replicas before Stepwise scaled it to 0). */
  replicas?: number;
  analysis?: AnalysisStatus;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  lastCommand?: CommandRecord;
  /** Announcements decided but not delivered yet, by id (see OutboxEntry). */
  outbox?: Record<string, OutboxEntry>;
  /**
   * The last few command records, oldest first (lastCommand is the newest): a CLI whose command was answered
   * just before another one finds its answer here.
   */
  recentCommands?: CommandRecord[];
  /** When the release under way started, for its duration in `history`. */
  releaseStartedAt?: string;
  /** Finished releases, newest first, at most the last 10. */
  history?: ReleaseRecord[];
}
