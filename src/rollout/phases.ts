// What each phase does in one pass (Promoting: promotion.ts). The handlers are mapped to phases in transitions.ts.
import { formatDuration } from '../api/duration.js';
import type { StepTraffic } from '../api/steps.js';
import { checkDue, nextCheckAtMs, stepPassed } from './checks.js';
import { stableRevisionIs } from './history.js';
import { advance, clearStepStart, rollback, startRollout } from './moves.js';
import { routeCarriesStatus } from './route-state.js';
import { judgedSince, type Pass } from './pass.js';
import { canaryReplicas, progressDeadlineMs, stepDurationMs } from './plan.js';
import { restoreStable } from './promotion.js';
import { deadlinePassed, isReady, readiness } from './readiness.js';
import { templateOf } from './templates.js';
import type { WorkloadObservation } from './types.js';

const CONFIRM_WEIGHT_MS = 1_000;

/** Keep the user's Deployment at 0 replicas, remembering how many it asked for (only once stable can serve). */
function parkTarget(p: Pass): void {
  const fromTarget = p.observed.target?.replicas ?? 0;
  if (fromTarget > 0) {
    p.status.replicas = fromTarget;
    p.act({ kind: 'scaleTarget', replicas: 0 });
  }
}

/** Initializing (and Failed, once its cause is gone): create `-stable` from the target and route 100% to it. */
export function initialize(p: Pass): void {
  const target = p.observed.target!;
  const stable = p.observed.stable;
  const replicas = p.desiredReplicas();
  p.status.replicas = replicas;
  p.status.waitingSince ??= p.nowIso;
  if (!stable) {
    stableRevisionIs(p.status, target.revision);
    p.act({ kind: 'applyStable', template: target.template, revision: target.revision, replicas });
    p.note(`creating the stable Deployment with revision ${p.revisionText(target.revision)}`);
    return;
  }
  stableRevisionIs(p.status, stable.revision);
  if (!isReady(stable, replicas, stable.revision)) {
    if (stable.replicas !== replicas) {
      p.act({ kind: 'applyStable', template: stable.template, revision: stable.revision, replicas });
    }
    if (deadlinePassed(p) && p.phase !== 'Failed') {
      p.moveTo(
        'Failed',
        'ProgressDeadlineExceeded',
        `stable pods not ready within progressDeadline ${p.spec.progressDeadline}: ${stable.readyReplicas}/${replicas} ready`,
        'Warning',
      );
    } else if (p.phase !== 'Failed') {
      p.note(readiness('the stable Deployment', stable, replicas));
    }
    return;
  }
  const awaiting = p.observed.awaitingRouting;
  if (awaiting) {
    // Adoption without downtime: -stable is ready while the user's routing still serves; traffic moves
    // only once the route points at the subsets.
    p.status.waitingSince = undefined;
    const message = `the stable Deployment is ready; to finish adopting, route the VirtualService to the subsets (stable 100, canary 0): ${awaiting}`;
    if (p.status.message !== message) p.moveTo('Initializing', 'AwaitingRouting', message);
    return;
  }
  p.status.canaryWeight = 0;
  p.status.currentStep = 0;
  p.status.waitingSince = undefined;
  parkTarget(p);
  if (returnToRollback(p, stable.revision)) return;
  p.moveTo(
    'Healthy',
    'Initialized',
    `stable revision ${p.revisionText(stable.revision)} serves 100% of the traffic`,
  );
}

/**
 * Back from Failed (a spec made invalid and fixed, a deadline) while the target still runs the revision that was
 * rolled back or aborted: back to that outcome, not Healthy, whose next pass would start the revision again
 * (DESIGN §3.4). `retry` or a newer revision starts again, as from any rollback.
 */
function returnToRollback(p: Pass, stableRevision: string): boolean {
  const revision = p.observed.target!.revision;
  const s = p.status;
  if (!s.rolledBackRevision || revision !== s.rolledBackRevision || revision === stableRevision) return false;
  const last = s.history?.find((release) => release.revision === revision);
  const outcome = last?.outcome === 'Aborted' ? 'Aborted' : 'RolledBack';
  p.moveTo(
    outcome,
    'RolledBackEarlier',
    `stable revision ${p.revisionText(stableRevision)} serves 100% of the traffic; the target's revision ${p.revisionText(revision)} was ${outcome === 'Aborted' ? 'aborted' : 'rolled back'} earlier and is not started again by itself: \`stepwise retry\` or a newer revision starts again`,
  );
  return true;
}

/** Healthy, Succeeded, RolledBack, Aborted: stable serves everything; start when a new revision appears. */
export function awaitRevision(p: Pass): void {
  if (restoreStable(p)) return;
  const s = p.status;
  const { target, stable, canary } = p.observed;
  if (!stable) {
    p.moveTo(
      'Initializing',
      'StableMissing',
      'the stable Deployment disappeared; creating it again',
      'Warning',
    );
    return;
  }
  s.canaryWeight = 0;
  if (canary && canary.replicas > 0) p.act({ kind: 'scaleCanary', replicas: 0 });
  const replicas = p.desiredReplicas();
  if (stable.replicas !== replicas) {
    p.act({ kind: 'applyStable', template: stable.template, revision: stable.revision, replicas });
  }
  if (isReady(stable, stable.replicas, stable.revision)) parkTarget(p);
  s.replicas = replicas;

  const revision = target!.revision;
  if (revision === s.stableRevision) {
    if (p.phase === 'RolledBack' || p.phase === 'Aborted') {
      s.rolledBackRevision = undefined;
      p.moveTo(
        'Healthy',
        'Reverted',
        `the target is back at the stable revision ${p.revisionText(revision)}`,
      );
    }
    return;
  }
  // A rolled-back revision is not retried by itself (DESIGN §3.4); `retry` or a newer revision starts again.
  if ((p.phase === 'RolledBack' || p.phase === 'Aborted') && revision === s.rolledBackRevision) return;
  startRollout(p, revision);
}

/**
 * The steps were edited mid-rollout: stay within the new list, and if the current step's weight went
 * down, lower the canary to it at once (DESIGN §3.1) and observe the step afresh.
 */
function followEditedSteps(p: Pass): void {
  const s = p.status;
  const last = p.spec.steps.length;
  if ((s.currentStep ?? 1) > last) s.currentStep = last;
  const { weight, mirrorPercent, headerMatches } = p.traffic();
  // Less mirrored, or no header route any more: at once, like a lower weight.
  if (s.mirrorPercent !== undefined && (mirrorPercent ?? 0) < s.mirrorPercent)
    s.mirrorPercent = mirrorPercent;
  if (s.headerRoute && !headerMatches) s.headerRoute = undefined;
  if ((s.canaryWeight ?? 0) > weight) {
    s.canaryWeight = weight;
    clearStepStart(s);
    p.announce(
      'Warning',
      'StepsChanged',
      `${p.stepLabel()}: the steps changed; canary weight lowered to ${weight}%`,
    );
  }
}

/**
 * The route carries less than the step's weight although that weight had been confirmed on it: a rollback
 * whose status write was lost (the controller died between the weight call and the write), or a hand edit.
 * Either way the canary must not get its traffic back; the rollback is finished.
 */
function weightLoweredBehindUs(p: Pass): boolean {
  const s = p.status;
  const onRoute = p.observed.canaryWeight;
  if (!judgedSince(s) || onRoute === undefined || onRoute >= (s.canaryWeight ?? 0)) return false;
  rollback(
    p,
    'RolledBack',
    'WeightLowered',
    `${p.stepLabel()}: the VirtualService sends ${onRoute}% to the canary instead of ${s.canaryWeight}% (a rollback that was interrupted, or a hand edit); all traffic back to stable`,
  );
  return true;
}

/**
 * Canary pods that crash or go unready after the weight was set (DESIGN §6, every phase guarded). Meanwhile the
 * step cannot pass and status says so; past progressDeadline the canary is rolled back. Its ready pods keep the
 * weight until then, so a readiness blip does not roll a good release back.
 */
function canaryUnready(
  p: Pass,
  canary: WorkloadObservation | undefined,
  replicas: number,
): 'rolledBack' | 'waiting' | undefined {
  const s = p.status;
  const ready = `${canary?.readyReplicas ?? 0}/${replicas}`;
  if (isReady(canary, replicas, s.canaryRevision)) {
    if (s.waitingSince) p.note(`${p.stepLabel()}: canary pods ready again (${ready})`);
    s.waitingSince = undefined;
    return undefined;
  }
  if (!s.waitingSince) {
    s.waitingSince = p.nowIso;
    p.announce(
      'Warning',
      'CanaryUnready',
      `${p.stepLabel()}: canary pods not ready (${ready}) while the canary has ${s.canaryWeight}% of the traffic`,
    );
  }
  if (deadlinePassed(p)) {
    rollback(
      p,
      'RolledBack',
      'ProgressDeadlineExceeded',
      `${p.stepLabel()}: canary pods not ready (${ready}) for progressDeadline ${p.spec.progressDeadline} after the weight was set`,
    );
    return 'rolledBack';
  }
  const deadline = new Date(Date.parse(s.waitingSince) + progressDeadlineMs(p.spec)).toISOString();
  p.note(
    `${p.stepLabel()}: canary pods not ready (${ready}) since ${s.waitingSince}; the step waits, rolling back at ${deadline} unless they recover`,
  );
  return 'waiting';
}

/** The step asks the route for more than status holds: a higher weight, more mirrored, a header route not yet set. */
function raisesTraffic(p: Pass): boolean {
  const s = p.status;
  const traffic = p.traffic();
  return (
    (s.canaryWeight ?? 0) < traffic.weight ||
    (traffic.mirrorPercent ?? 0) > (s.mirrorPercent ?? 0) ||
    (traffic.headerMatches !== undefined && !s.headerRoute)
  );
}

function sending(traffic: StepTraffic): string {
  if (traffic.mirrorPercent !== undefined) {
    return `mirroring ${traffic.mirrorPercent}% of the requests to the canary (users stay on stable; its answers are dropped)`;
  }
  const header = traffic.headerMatches ? '; requests matching the header route go to the canary' : '';
  return `sending ${traffic.weight}% of the traffic to the canary${header}`;
}

/** Progressing and Paused: scale the canary, set the step's weight once it is ready, judge, move on. */
export function progress(p: Pass): void {
  const s = p.status;
  followEditedSteps(p);
  if (weightLoweredBehindUs(p)) return;
  const step = p.step();
  const traffic = p.traffic();
  // A mirror step's canary serves copies of mirrorPercent% of the requests: as many pods as that weight would need.
  // The analysis reads them as any request the canary served: its sidecar reports the copies (reporter="destination",
  // labelled with the canary's workload); the callers report none (istio/istio#23496).
  const replicas = canaryReplicas(p.desiredReplicas(), traffic.mirrorPercent ?? traffic.weight);
  const canary = p.observed.canary;
  if (!isReady(canary, replicas, s.canaryRevision)) {
    if (!canary || canary.revision !== s.canaryRevision || canary.replicas !== replicas) {
      const template = templateOf(p, s.canaryRevision);
      if (!template) {
        // The canary Deployment and the target are both gone: nothing can bring canary pods back.
        rollback(
          p,
          'RolledBack',
          'CanaryMissing',
          `${p.stepLabel()}: the canary Deployment is gone and neither it nor the target holds revision ${s.canaryRevision}; all traffic back to stable`,
        );
        return;
      }
      p.act({ kind: 'applyCanary', template, revision: s.canaryRevision!, replicas });
    }
  }
  // Stable is never scaled down during a rollout (DESIGN §3.2), only up when the service grows.
  const stable = p.observed.stable;
  if (stable && stable.replicas < p.desiredReplicas()) {
    p.act({
      kind: 'applyStable',
      template: stable.template,
      revision: stable.revision,
      replicas: p.desiredReplicas(),
    });
  }

  if (raisesTraffic(p)) {
    // The weight goes up only once the canary pods for this step are ready (DESIGN §3.1).
    if (!isReady(canary, replicas, s.canaryRevision)) {
      if (deadlinePassed(p)) {
        rollback(
          p,
          'RolledBack',
          'ProgressDeadlineExceeded',
          `${p.stepLabel()}: canary pods not ready within progressDeadline ${p.spec.progressDeadline} (${canary?.readyReplicas ?? 0}/${replicas} ready)`,
        );
      } else {
        p.note(`${p.stepLabel()}: ${readiness('the canary Deployment', canary, replicas)}`);
        wakeForNextCheck(p);
      }
      return;
    }
    if (p.hold !== undefined) {
      wakeForNextCheck(p); // no raise on an invalid spec; the weight the canary has is still checked
      return;
    }
    if (heldCheckDidNotPass(p)) {
      // Failed checks count against failureLimit, inconclusive ones towards inconclusiveLimit, as in any step.
      if (p.phase === 'Progressing')
        p.note(
          `${p.stepLabel()}: the pods are ready; holding at ${s.canaryWeight ?? 0}% until a check passes (${p.analysis.lastMessage ?? p.analysis.lastVerdict})`,
        );
      wakeForNextCheck(p);
      return;
    }
    s.canaryWeight = traffic.weight;
    s.mirrorPercent = traffic.mirrorPercent;
    s.headerRoute = traffic.headerMatches ? true : undefined;
    clearStepStart(s);
    s.waitingSince = undefined;
    p.announce('Normal', 'StepStarted', `${p.stepLabel()}: ${sending(traffic)}`);
    p.note(`${p.stepLabel()}: setting the canary weight`);
    p.wakeIn(CONFIRM_WEIGHT_MS);
    return;
  }

  const unready = canaryUnready(p, canary, replicas);
  if (unready === 'rolledBack') return;

  if (!s.stepStartedAt) {
    // The step's clock starts once the VirtualService carries the weight (and the step's mirror or header route).
    if (!routeCarriesStatus(p)) {
      p.wakeIn(CONFIRM_WEIGHT_MS);
      return;
    }
    s.stepStartedAt = p.nowIso;
    s.heldWeightSince = undefined;
    p.note(`${p.stepLabel()}: analysing the canary`);
  }

  if (p.phase === 'Progressing' && !unready && p.hold === undefined && stepPassed(p)) {
    if (step.pause) {
      p.moveTo(
        'Paused',
        'Gate',
        `${p.stepLabel()} passed its analysis; waiting for \`stepwise promote\` (analysis keeps running)`,
      );
    } else {
      advance(p, 'passed');
      return;
    }
  }

  wakeForNextCheck(p);
  const stepEnd = Date.parse(s.stepStartedAt) + stepDurationMs(p.spec, step);
  if (stepEnd > p.nowMs) p.wakeAt(stepEnd);
  if (unready) return;
  if (p.phase === 'Progressing' && !s.message?.startsWith(p.stepLabel()))
    p.note(`${p.stepLabel()}: analysing the canary`);
  if (p.phase === 'Progressing' && p.nowMs >= stepEnd && p.analysis.lastVerdict === 'pass') {
    const needed = p.spec.analysis.minRequests;
    p.note(
      `${p.stepLabel()}: step time ${formatDuration(p.nowMs - Date.parse(s.stepStartedAt))} elapsed; waiting for ${needed} canary requests (${p.analysis.requests ?? 0} so far)`,
    );
  }
}

/**
 * The weight goes up on a passing check: a check of the weight held while the step's pods started that did not pass
 * (the evidence leaning against the canary, too little data) holds it there, as it would hold a step from passing.
 */
function heldCheckDidNotPass(p: Pass): boolean {
  const s = p.status;
  const since = s.waitingSince && Date.parse(s.waitingSince);
  // A check recorded in the pass that moved to this step (before its command) judged the previous step.
  const last = p.analysis.lastCheckAt && Date.parse(p.analysis.lastCheckAt);
  return !!s.heldWeightSince && !!since && !!last && last > since && p.analysis.lastVerdict !== 'pass';
}

/** Wake up for the next check: now when one is due, else at its grid instant; never without a step or held weight. */
function wakeForNextCheck(p: Pass): void {
  const nextCheck = checkDue(p.spec, p.status, p.now, p.checkOffsetMs)
    ? p.nowMs
    : nextCheckAtMs(p.spec, p.status, p.checkOffsetMs);
  if (nextCheck !== undefined) p.wakeAt(nextCheck);
}

/** Failed: an invalid spec that became valid, or stable that was late, starts over from Initializing. */
export function recover(p: Pass): void {
  if (p.status.reason === 'InvalidSpec') {
    p.moveTo('Initializing', 'SpecValid', 'the Rollout and its objects are valid again');
    return;
  }
  initialize(p);
}
