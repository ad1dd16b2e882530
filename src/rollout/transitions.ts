import type { RolloutSpec } from '../api/schema.js';
import type { Condition, ConditionType, Phase } from '../api/status.js';
import type { Problem } from '../api/validate.js';
import { recordCheck } from './checks.js';
import { runCommand } from './commands.js';
import { clearStepStart, startRollout } from './moves.js';
import { Pass } from './pass.js';
import { routeCarriesStatus, wantedRoute } from './route-state.js';
import { awaitRevision, initialize, progress, recover } from './phases.js';
import { underWay } from './last-valid-spec.js';
import { promote, restoreStable } from './promotion.js';
import type { DecideInput, Decision, Observed } from './types.js';

/**
 * What each phase does in a pass. Where each phase may go is data, in PHASE_TABLE (phase-table.ts).
 *
 * Before the handler, in every pass: an invalid spec or missing object → Failed (no traffic change, §3.6);
 * a new revision mid-rollout → back to stable and step 1 (§3.3); then a new command annotation (§4).
 */
const HANDLERS: Record<Phase, (p: Pass) => void> = {
  Initializing: initialize,
  Healthy: awaitRevision,
  Progressing: progress,
  Paused: progress,
  Promoting: promote,
  Succeeded: awaitRevision,
  RolledBack: awaitRevision,
  Aborted: awaitRevision,
  Failed: recover,
};

// A pass may chain a few transitions (Healthy → Progressing → scale the canary) but never loops.
const MAX_TRANSITIONS_PER_PASS = 4;

/** The state machine: (spec, status, observed world, now) → (new status, actions). Pure. */
export function decide({
  spec,
  status,
  observed: seen,
  now,
  specProblems,
  checkOffsetMs,
}: DecideInput): Decision {
  // Routing without the track subsets is acceptable while adopting (or starting over from Failed); once a
  // rollout is under way it means Stepwise lost control of the traffic.
  const adopting = !status.phase || status.phase === 'Initializing' || status.phase === 'Failed';
  const lostRouting = seen.awaitingRouting && !adopting;
  // A target deleted while a canary may carry traffic: the router can still act, so the rollout holds guarded
  // (its template is the desired version: without it nothing may move forward).
  const targetMissing = seen.targetMissing;
  const holdOn = targetMissing && underWay(status) ? [targetMissing] : [];
  const observed: Observed = {
    ...seen,
    problems: [
      ...seen.problems,
      ...(lostRouting
        ? [{ path: 'spec.trafficRouting.istio.virtualService', message: seen.awaitingRouting! }]
        : []),
      ...(targetMissing && !holdOn.length ? [targetMissing] : []),
    ],
  };
  const p = new Pass(spec, status, observed, now, checkOffsetMs);
  p.status.observedGeneration = observed.generation;

  const valid = !!spec && observed.problems.length === 0;
  if (!valid) {
    markInvalid(p, [...(specProblems ?? []), ...observed.problems]);
    runCommand(p, 'invalid');
    return finish(p, spec, false);
  }
  const held = [
    ...(specProblems?.length ? [`the spec is invalid (${describeProblems(specProblems)})`] : []),
    ...(holdOn.length ? [`the target Deployment is missing (${describeProblems(holdOn)})`] : []),
  ];
  if (held.length) {
    guard(p, held.join(' and '));
    return finish(p, spec, true);
  }
  if (!p.phase) p.moveTo('Initializing', 'Created', 'creating the stable Deployment from the target');
  followNewRevision(p);
  recordPendingCheck(p);
  runCommand(p, 'valid');
  runHandlers(p, HANDLERS);
  return finish(p, spec, true);
}

function runHandlers(p: Pass, handlers: Record<Phase, (p: Pass) => void>): void {
  for (let i = 0; i < MAX_TRANSITIONS_PER_PASS; i++) {
    const before = signature(p);
    handlers[p.phase!](p);
    if (signature(p) === before) break;
  }
}

/** The check of this pass counts before a command: `promote --full` must not skip a check that rolls back. */
function recordPendingCheck(p: Pass): void {
  if (p.phase !== 'Progressing' && p.phase !== 'Paused') return;
  const check = p.takeCheck();
  if (check) recordCheck(p, check);
}

const describeProblems = (problems: Problem[]) => problems.map((x) => `${x.path}: ${x.message}`).join('; ');

// With an invalid spec mid-rollout nothing moves forward, but everything that protects traffic keeps running.
const GUARD_HANDLERS: Record<Phase, (p: Pass) => void> = {
  ...HANDLERS,
  Healthy: () => undefined,
  Succeeded: () => undefined,
  RolledBack: (p) => void restoreStable(p),
  Aborted: (p) => void restoreStable(p),
  Initializing: () => undefined,
  Failed: () => undefined,
};

/**
 * The Rollout's spec became invalid, or its target went missing, while a canary may carry traffic: hold where it
 * is, guarded by the last valid spec (checks, readiness, deadlines, a promotion under way), and accept `abort`
 * (DESIGN §6). `why` names what holds it.
 */
function guard(p: Pass, why: string): void {
  p.hold = why;
  const condition = p.status.conditions?.find((c) => c.type === 'InvalidSpec');
  if (condition?.status !== 'True' || condition.message !== why) {
    p.announce(
      'Warning',
      'InvalidSpec',
      `${why}; the rollout holds where it is, still guarded by the last valid spec: fix it, or \`stepwise abort\``,
    );
  }
  recordPendingCheck(p);
  runCommand(p, 'guarding');
  runHandlers(p, GUARD_HANDLERS);
  if (p.phase === 'Progressing' || p.phase === 'Paused') {
    p.note(
      `${p.stepLabel()}: held at ${p.status.canaryWeight ?? 0}% because ${why}; the canary is still guarded by the last valid spec; fix it, or \`stepwise abort\``,
    );
  }
}

function signature(p: Pass): string {
  const s = p.status;
  return `${s.phase}/${s.currentStep}/${s.canaryRevision}/${s.stableRevision}`;
}

function markInvalid(p: Pass, problems: Problem[]): void {
  const message = describeProblems(problems);
  if (p.phase !== 'Failed' || p.status.reason !== 'InvalidSpec' || p.status.message !== message) {
    p.moveTo('Failed', 'InvalidSpec', message, 'Warning');
  }
}

/** A new revision mid-rollout: traffic back to stable, then step 1 with the new canary (DESIGN §3.3). */
function followNewRevision(p: Pass): void {
  if (p.phase !== 'Progressing' && p.phase !== 'Paused') return;
  const s = p.status;
  const revision = p.observed.target!.revision;
  if (revision === s.canaryRevision) return;
  if (revision === s.stableRevision) {
    s.canaryWeight = 0;
    s.currentStep = 0;
    clearStepStart(s);
    p.act({ kind: 'scaleCanary', replicas: 0 });
    p.moveTo(
      'Healthy',
      'Reverted',
      `the target is back at the stable revision ${p.revisionText(revision)}; canary withdrawn`,
    );
    return;
  }
  p.announce(
    'Warning',
    'NewRevision',
    `revision ${p.revisionText(revision)} replaces ${p.revisionText(s.canaryRevision)} mid-rollout`,
  );
  startRollout(p, revision, 'NewRevision');
  p.analysis.replacedCanary = true;
}

const READY_PHASES: Phase[] = ['Healthy', 'Succeeded'];
const PROGRESSING_PHASES: Phase[] = ['Initializing', 'Progressing', 'Paused', 'Promoting'];

function finish(p: Pass, spec: RolloutSpec | undefined, valid: boolean): Decision {
  const phase = p.phase!;
  const s = p.status;
  setCondition(p, 'Ready', READY_PHASES.includes(phase), phase, s.message ?? '');
  setCondition(p, 'Progressing', PROGRESSING_PHASES.includes(phase), phase, s.message ?? '');
  const invalid = (phase === 'Failed' && s.reason === 'InvalidSpec') || p.hold !== undefined;
  setCondition(
    p,
    'InvalidSpec',
    invalid,
    invalid ? 'InvalidSpec' : 'Valid',
    invalid ? (p.hold ?? s.message ?? '') : '',
  );
  // Kept while a canary may carry traffic, so an invalid edit cannot leave it unguarded (last-valid-spec.ts).
  if (p.hold === undefined) s.lastValidSpec = valid && underWay(s) ? spec : undefined;

  // Only a rollout under way adds to the route: a mirror or header route ends with it.
  if (phase !== 'Progressing' && phase !== 'Paused') {
    s.mirrorPercent = undefined;
    s.headerRoute = undefined;
  }
  // The VirtualService follows status.canaryWeight (and the step's additions); the weight always goes first
  // (DESIGN §3.2).
  const actions = p.actions();
  const wanted = valid ? wantedRoute(p) : undefined;
  if (wanted && !routeCarriesStatus(p)) actions.unshift({ kind: 'setCanaryWeight', ...wanted });
  const requeueAfterMs = p.requeueAfterMs();
  return {
    status: s,
    actions,
    announcements: p.announcements,
    moves: p.moves,
    ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
  };
}

function setCondition(p: Pass, type: ConditionType, on: boolean, reason: string, message: string): void {
  const conditions = (p.status.conditions ??= []);
  const status: Condition['status'] = on ? 'True' : 'False';
  const existing = conditions.find((c) => c.type === type);
  const lastTransitionTime = existing && existing.status === status ? existing.lastTransitionTime : p.nowIso;
  const next: Condition = { type, status, reason, message, lastTransitionTime };
  if (existing) Object.assign(existing, next);
  else conditions.push(next);
}
