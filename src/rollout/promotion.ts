// Promoting: stable takes the canary's template, and once it is rolled out and ready, 100% goes back to it.
// While `<app>-stable` is being updated its pods are a mix of both revisions and may be short of ready ones,
// so a promotion that is abandoned (abort, progressDeadline) does not send traffic there: stable first goes
// back to the template it had (kept in status.previousStable), and the canary keeps its share until then
// (rollback in moves.ts, restoreStable here).
import { rollback } from './moves.js';
import type { Pass } from './pass.js';
import { deadlineMs, isReady, readiness } from './readiness.js';

export function promote(p: Pass): void {
  const s = p.status;
  const { stable, canary, target } = p.observed;
  const template =
    canary?.revision === s.canaryRevision
      ? canary!.template
      : target?.revision === s.canaryRevision
        ? target!.template
        : undefined;
  const replicas = Math.max(p.desiredReplicas(), stable?.replicas ?? 0);
  const ready = isReady(stable, replicas, s.canaryRevision);
  if (!ready) {
    const deadline = deadlineMs(p);
    if (p.nowMs >= deadline) {
      rollback(
        p,
        'RolledBack',
        'ProgressDeadlineExceeded',
        `promotion of revision ${s.canaryRevision}: the stable Deployment was not ready within progressDeadline ${p.spec.progressDeadline} (${stable?.readyReplicas ?? 0}/${replicas} ready)`,
      );
      return;
    }
    const waiting = `promoting revision ${s.canaryRevision}: rolling back at ${new Date(deadline).toISOString()} unless ready by then`;
    if (!stable || stable.revision !== s.canaryRevision) {
      if (!template) {
        p.note(
          `${waiting}; promotion needs the template of revision ${s.canaryRevision}, but neither the canary nor the target has it`,
        );
        return;
      }
      p.act({ kind: 'applyStable', template, revision: s.canaryRevision!, replicas });
      p.note(`${waiting}; updating the stable Deployment to revision ${s.canaryRevision}`);
      return;
    }
    p.note(
      `${waiting}; ${readiness('the stable Deployment', stable, replicas)} with revision ${s.canaryRevision}`,
    );
    return;
  }
  s.canaryWeight = 0;
  s.stableRevision = s.canaryRevision;
  s.currentStep = 0;
  s.waitingSince = undefined;
  s.previousStable = undefined;
  p.act({ kind: 'scaleCanary', replicas: 0 });
  p.moveTo(
    'Succeeded',
    'Promoted',
    `revision ${s.stableRevision} is now stable and serves 100% of the traffic`,
  );
}

/**
 * After an abandoned promotion: puts stable's previous template back and, once it is ready, moves the canary's
 * share to it. True while this is still under way (the phase's usual work waits).
 */
export function restoreStable(p: Pass): boolean {
  const s = p.status;
  const previous = s.previousStable;
  if (!previous) return false;
  const stable = p.observed.stable;
  const replicas = Math.max(p.desiredReplicas(), stable?.replicas ?? 0);
  const why = s.lastRollback?.message ?? 'promotion abandoned';
  if (stable?.revision !== previous.revision) {
    p.act({ kind: 'applyStable', template: previous.template, revision: previous.revision, replicas });
    p.note(`${why}; waiting for the stable Deployment to go back to revision ${previous.revision}`);
    return true;
  }
  if (!isReady(stable, replicas, previous.revision)) {
    p.note(
      `${why}; ${readiness('the stable Deployment', stable, replicas)} with revision ${previous.revision}`,
    );
    return true;
  }
  s.previousStable = undefined;
  s.canaryWeight = 0;
  p.act({ kind: 'scaleCanary', replicas: 0 });
  p.announce(
    'Normal',
    'StableRestored',
    `the stable Deployment is back at revision ${previous.revision} and ready; all traffic back to stable`,
  );
  return false;
}
