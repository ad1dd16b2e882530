// Promoting: stable takes the canary's template, and once it is rolled out and ready, 100% goes back to it.
// While `<app>-stable` is being updated its pods are a mix of both revisions and may be short of ready ones,
// so a promotion that is abandoned (abort, progressDeadline) does not send traffic there: stable first goes
// back to the template it had (kept in status.previousStable), and the canary keeps its share until then
// (rollback in moves.ts, restoreStable here) unless none of its pods is ready (guardCanary).
import { releasePromoted } from './history.js';
import { rollback } from './moves.js';
import type { Pass } from './pass.js';
import { formatDuration } from '../api/duration.js';
import { workloadName } from '../workload/labels.js';
import { progressDeadlineMs } from './plan.js';
import { deadlineMs, isReady, readiness } from './readiness.js';
import { templateOf } from './templates.js';

export function promote(p: Pass): void {
  const s = p.status;
  const { stable } = p.observed;
  const template = templateOf(p, s.canaryRevision);
  const replicas = Math.max(p.desiredReplicas(), stable?.replicas ?? 0);
  const ready = isReady(stable, replicas, s.canaryRevision);
  if (!ready) {
    const canary = guardCanary(p);
    const deadline = deadlineMs(p);
    if (p.nowMs >= deadline) {
      rollback(
        p,
        'RolledBack',
        'ProgressDeadlineExceeded',
        `promotion of revision ${p.revisionText(s.canaryRevision)}: the stable Deployment was not ready within progressDeadline ${p.spec.progressDeadline} (${stable?.readyReplicas ?? 0}/${replicas} ready)`,
      );
      return;
    }
    const waiting = `promoting revision ${p.revisionText(s.canaryRevision)}: rolling back at ${new Date(deadline).toISOString()} unless ready by then`;
    if (!stable || stable.revision !== s.canaryRevision) {
      if (!template) {
        p.note(
          `${waiting}; promotion needs the template of revision ${s.canaryRevision}, but neither the canary nor the target has it${canary}`,
        );
        return;
      }
      p.act({ kind: 'applyStable', template, revision: s.canaryRevision!, replicas });
      p.note(`${waiting}; updating the stable Deployment to revision ${s.canaryRevision}${canary}`);
      return;
    }
    p.note(
      `${waiting}; ${readiness('the stable Deployment', stable, replicas)} with revision ${s.canaryRevision}${canary}`,
    );
    return;
  }
  s.canaryWeight = 0;
  releasePromoted(s);
  s.currentStep = 0;
  s.waitingSince = undefined;
  s.previousStable = undefined;
  p.act({ kind: 'scaleCanary', replicas: 0 });
  p.moveTo(
    'Succeeded',
    'Promoted',
    `revision ${p.revisionText(s.stableRevision)} is now stable and serves 100% of the traffic`,
  );
}

/**
 * While stable is not ready the canary keeps its share (DESIGN §6: canary readiness in every pass). If none of
 * its pods is ready, that share would fail outright; stable's ready pods (a rolling update keeps most of its old
 * ones serving) are fewer than asked for but serve, so the share moves to them. Returns a status note ("" when
 * every canary pod is ready).
 */
function guardCanary(p: Pass): string {
  const s = p.status;
  const { canary, stable } = p.observed;
  const weight = s.canaryWeight ?? 0;
  const replicas = canary?.replicas ?? 0;
  if (weight === 0 || isReady(canary, replicas, s.canaryRevision)) return '';
  const ready = canary && canary.revision === s.canaryRevision ? canary.readyReplicas : 0;
  const pods = `canary pods not ready (${ready}/${replicas})`;
  if (ready > 0) return `; ${pods}: its ready pods keep its ${weight}%`;
  const stableReady = stable?.readyReplicas ?? 0;
  if (stableReady === 0)
    return `; ${pods}, and no stable pod is ready either: the canary keeps its ${weight}%`;
  s.canaryWeight = 0;
  p.announce(
    'Warning',
    'CanaryUnready',
    `${pods} while the canary had ${weight}% of the traffic: it goes to the ${stableReady} ready pods of the stable Deployment`,
  );
  return `; ${pods}: its traffic went to the stable Deployment's ready pods`;
}

/**
 * After an abandoned promotion: puts stable's previous template back and, once it is ready, moves the canary's
 * share to it. True while this is still under way (the phase's usual work waits). Held to progressDeadline: past
 * it a Warning says so, again every progressDeadline, and the canary keeps its share, since sending it to a
 * stable that is not ready would fail those requests.
 */
export function restoreStable(p: Pass): boolean {
  const s = p.status;
  const previous = s.previousStable;
  if (!previous) return false;
  const stable = p.observed.stable;
  const replicas = Math.max(p.desiredReplicas(), stable?.replicas ?? 0);
  const why = s.lastRollback?.message ?? 'promotion abandoned';
  const back = stable?.revision === previous.revision;
  if (!back) {
    p.act({ kind: 'applyStable', template: previous.template, revision: previous.revision, replicas });
  }
  if (!back || !isReady(stable, replicas, previous.revision)) {
    const canary = guardCanary(p);
    const waiting = back
      ? `${readiness('the stable Deployment', stable, replicas)} with revision ${p.revisionText(previous.revision)}`
      : `waiting for the stable Deployment to go back to revision ${p.revisionText(previous.revision)}`;
    const keeps = `the canary keeps its ${s.canaryWeight ?? 0}% until it is ready`;
    const startedMs = Date.parse(s.lastRollback?.at ?? p.nowIso);
    s.waitingSince ??= p.nowIso; // a restore recorded without one (rollback() sets it) gets its deadline too
    if (p.nowMs >= deadlineMs(p)) {
      // Reminds every progressDeadline: waitingSince starts the next wait (rollback() started the first).
      const name = workloadName(p.spec.targetRef.name, 'stable');
      p.announce(
        'Warning',
        'StableNotRestored',
        `the stable Deployment is not back at revision ${p.revisionText(previous.revision)} (${stable?.readyReplicas ?? 0}/${replicas} ready) ${formatDuration(p.nowMs - startedMs)} after the promotion was abandoned (progressDeadline ${p.spec.progressDeadline}); ${keeps}: see \`kubectl describe deployment ${name}\``,
      );
      s.waitingSince = p.nowIso;
      deadlineMs(p);
    }
    const late = p.nowMs >= startedMs + progressDeadlineMs(p.spec);
    const when = late
      ? `not back within progressDeadline ${p.spec.progressDeadline}`
      : `a warning at ${new Date(startedMs + progressDeadlineMs(p.spec)).toISOString()} unless ready by then`;
    p.note(`${why}; ${waiting}${canary}; ${keeps} (${when})`);
    return true;
  }
  s.previousStable = undefined;
  s.waitingSince = undefined;
  s.canaryWeight = 0;
  p.act({ kind: 'scaleCanary', replicas: 0 });
  p.announce(
    'Normal',
    'StableRestored',
    `the stable Deployment is back at revision ${p.revisionText(previous.revision)} and ready; all traffic back to stable`,
  );
  return false;
}
