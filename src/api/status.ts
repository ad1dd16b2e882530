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
}

export type CommandName = 'promote' | 'promote-full' | 'abort' | 'retry';

export interface CommandRecord {
  id: string;
  command: string;
  accepted: boolean;
  message: string;
  at: string;
}

export type ReleaseOutcome = 'Succeeded' | 'RolledBack' | 'Aborted';

/** One finished release: a canary revision that was promoted, rolled back or aborted. */
export interface ReleaseRecord {
  /** 1 for the Rollout's first finished release, then counting up; kept when older ones drop out. */
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
  /** Pod-template hash being rolled out in `<app>-canary`. */
  canaryRevision?: string;
  /** The revision last rolled back or aborted; not retried until `retry` or a newer revision. */
  rolledBackRevision?: string;
  /** 1-based index into spec.steps; 0 when no canary is in progress. */
  currentStep?: number;
  /** The canary weight Stepwise wants on the managed routes; the VirtualService follows it. */
  canaryWeight?: number;
  /** When the current step's weight was confirmed on the VirtualService. */
  stepStartedAt?: string;
  /** Since when Stepwise waits for pods to become ready (progress deadline). */
  waitingSince?: string;
  /** Total replicas the service runs with (the target's replicas before Stepwise scaled it to 0). */
  replicas?: number;
  analysis?: AnalysisStatus;
  reason?: string;
  message?: string;
  conditions?: Condition[];
  lastCommand?: CommandRecord;
  /** When the release under way started, for its duration in `history`. */
  releaseStartedAt?: string;
  /** Finished releases, newest first, at most the last 10. */
  history?: ReleaseRecord[];
}
