// The transitions several phases share: start a rollout, move to the next step, promote, roll back.
import type { Announcement, RolloutStatus } from '../api/status.js';
import type { Pass } from './pass.js';
import { releaseStarted } from './history.js';
import { freshAnalysis } from './pass.js';
import { describeSteps } from './plan.js';

/** The traffic the checks judge changes: no step start, and no weight held from the previous step. */
export function clearStepStart(s: RolloutStatus): void {
  s.stepStartedAt = undefined;
  s.heldWeightSince = undefined;
}

export function startRollout(p: Pass, revision: string, reason = 'RolloutStarted'): void {
  const s = p.status;
  s.canaryRevision = revision;
  s.currentStep = 1;
  s.canaryWeight = 0;
  s.mirrorPercent = undefined;
  s.headerRoute = undefined;
  clearStepStart(s);
  s.waitingSince = p.nowIso;
  s.rolledBackRevision = undefined;
  s.analysis = freshAnalysis();
  releaseStarted(s, p.nowIso);
  p.moveTo(
    'Progressing',
    reason,
    `rolling out revision ${p.revisionText(revision)} (stable ${p.revisionText(s.stableRevision)}) over steps ${describeSteps(p.spec)}`,
  );
}

/** The current step passed (or was promoted past): the next step, or promotion after the last. */
export function advance(p: Pass, how: string): void {
  const s = p.status;
  const passed = p.stepLabel();
  if ((s.currentStep ?? 1) >= p.spec.steps.length) {
    startPromotion(p, `${passed} ${how}; promoting revision ${p.revisionText(s.canaryRevision)}`);
    return;
  }
  s.currentStep = (s.currentStep ?? 1) + 1;
  // A mirror belongs to its step; a header route stays until the rollout ends.
  s.mirrorPercent = undefined;
  // Until the next step's pods are ready and its weight is set, the canary keeps this step's weight (and header
  // route), and the checks go on judging it: a canary that turns bad while its next pods start is still rolled back.
  const stillServes = (s.canaryWeight ?? 0) > 0 || s.headerRoute === true;
  s.heldWeightSince = stillServes ? (s.stepStartedAt ?? s.heldWeightSince) : undefined;
  s.stepStartedAt = undefined;
  s.waitingSince = p.nowIso;
  // The values shown are the current step's: clear the last step's until its first check. A new step also
  // gets its own inconclusiveLimit: `promote` out of an inconclusive hold must not pause again at once.
  Object.assign(p.analysis, {
    consecutiveInconclusive: 0,
    requests: undefined,
    errorRate: undefined,
    p99Ms: undefined,
    metrics: undefined,
  });
  p.moveTo('Progressing', 'StepPassed', `${passed} ${how}; preparing ${p.stepLabel()}`);
}

export function startPromotion(p: Pass, message: string): void {
  // Stable's revision and template, to put back if the promotion is abandoned (promotion.ts).
  const stable = p.observed.stable;
  if (stable && stable.revision === p.status.stableRevision) {
    p.status.previousStable = { revision: stable.revision, template: stable.template };
  }
  clearStepStart(p.status);
  p.status.waitingSince = p.nowIso;
  p.moveTo('Promoting', 'Promoting', message);
}

/**
 * Traffic back to stable at once (the controller applies the weight before anything else, DESIGN §3.2),
 * then the canary is scaled to 0. The revision is remembered so it is not retried by itself (§3.4).
 * During promotion stable is halfway between two templates: it goes back to its previous one first, and the
 * canary keeps its share until that is ready (restoreStable in promotion.ts).
 */
export function rollback(
  p: Pass,
  phase: 'RolledBack' | 'Aborted',
  reason: string,
  message: string,
  finding?: Announcement['finding'],
): void {
  const s = p.status;
  // The status message names the revision with its images, unless it does already (lastRollback keeps the
  // revision as a field of its own).
  const said = message.includes(`revision ${s.canaryRevision}`)
    ? message
    : `${message}; revision ${p.revisionText(s.canaryRevision)} ${phase === 'Aborted' ? 'aborted' : 'rolled back'}`;
  clearStepStart(s);
  s.waitingSince = undefined;
  s.rolledBackRevision = s.canaryRevision;
  s.lastRollback = { revision: s.canaryRevision!, phase, reason, message, at: p.nowIso };
  const previous = p.phase === 'Promoting' ? s.previousStable : undefined;
  s.previousStable = previous;
  if (previous) {
    s.waitingSince = p.nowIso; // stable's way back is held to progressDeadline too (restoreStable)
    const how = `the stable Deployment goes back to revision ${p.revisionText(previous.revision)}, and the canary keeps its ${s.canaryWeight}% until it is ready`;
    p.moveTo(phase, reason, `${said}; ${how}`, 'Warning', finding);
    return;
  }
  s.canaryWeight = 0;
  p.act({ kind: 'scaleCanary', replicas: 0 });
  p.moveTo(phase, reason, said, 'Warning', finding);
}
