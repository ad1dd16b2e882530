import type { Logger } from 'winston';
import type { CanaryAnalyzer, CheckResult } from '../analysis/types.js';
import type { RolloutSpec } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { ClusterAccess } from './cluster-access.js';
import { isConflict } from '../kube/errors.js';
import { mergePatchBetween } from '../kube/merge-patch.js';
import { checkDue, checkGridOffsetMs, type DueCheck } from '../rollout/checks.js';
import { specForPass } from '../rollout/last-valid-spec.js';
import { isAllowedMove } from '../rollout/phase-table.js';
import { decide } from '../rollout/transitions.js';
import type { Action, Decision } from '../rollout/types.js';
import { workloadName } from '../workload/labels.js';
import { applyAction } from './act.js';
import { deliverOutbox, outboxEntry } from './announce.js';
import { finalize } from './finalize.js';
import { observeWorld, type World } from './observe.js';
import { pendingCommand } from './pending-command.js';
import { PRIORITY, type Priority } from './queue.js';
import { type PrometheusResolution, resolvePrometheus } from './prometheus-target.js';

export interface ReconcileDeps {
  cluster: ClusterAccess;
  analyzer: CanaryAnalyzer;
  logger: Logger;
  now: () => Date;
  /** --prometheus-address: used when a Rollout does not name its own. */
  defaultPrometheus?: string;
  /** --prometheus-credentials-address: further addresses that may receive credentials from Secrets. */
  prometheusCredentialsAddresses?: readonly string[];
  /** Told about every decision (metrics, notifications). */
  onDecision?: (rollout: RolloutObject, decision: Decision, check: CheckResult | undefined) => void;
  /** Draws the spread of routine re-checks (Math.random by default). */
  random?: () => number;
}

export interface PassResult {
  requeueAfterMs?: number;
  /** The queue lane of that wake-up: `check` when an analysis check is due by then. */
  requeueLane?: Priority;
}

// Periodic look even when nothing happens, so a lost event or timer never strands a rollout.
const RESYNC_MS = 60_000;

/**
 * When a Rollout with nothing due looks again: drawn over the second half of the resync, so that Rollouts
 * started together (a restart, a relist) spread over the cycle instead of re-checking in one burst every
 * minute (client-go's wait.Jitter does the same for its periods).
 */
export function routineRecheckMs(random: () => number = Math.random): number {
  return Math.round(RESYNC_MS * (0.5 + 0.5 * random()));
}

/**
 * One pass for one Rollout: read the current world, run a check if one is due, decide, then act.
 * Traffic leaves the canary before the status write; everything else happens after it, so a controller
 * that dies at any point resumes from status with the world catching up, never running ahead. The pass's
 * announcements are written with the status and delivered last (announce.ts).
 */
export async function reconcile(
  deps: ReconcileDeps,
  namespace: string,
  name: string,
  signal?: AbortSignal,
): Promise<PassResult> {
  const { cluster, logger } = deps;
  const rollout = await cluster.getRollout(namespace, name);
  if (!rollout) return {};
  const finalizing = await finalize(deps, rollout);
  if (finalizing) return finalizing;
  const log = logger.child({ namespace, rollout: name });
  const now = deps.now();
  const status = rollout.status ?? {};

  // An invalid spec mid-rollout: the pass runs on the last valid one, to keep guarding the canary.
  const forPass = specForPass(rollout.spec, status);
  const spec = forPass.spec;
  const problems = forPass.guarding ? [] : [...forPass.problems];
  const prometheus = spec
    ? resolvePrometheus(spec, {
        defaultAddress: deps.defaultPrometheus,
        credentialsAddresses: deps.prometheusCredentialsAddresses,
      })
    : undefined;
  if (prometheus && !prometheus.ok) problems.push(prometheus.problem);

  const world = await observeWorld(cluster, rollout, problems.length ? undefined : spec, problems);
  const valid = world.observed.problems.length === 0 && spec !== undefined;

  // An abort is obeyed whatever a check would say: its pass asks Prometheus nothing.
  const aborting = pendingCommand(rollout) === 'abort';
  const checkOffsetMs = spec ? checkGridOffsetMs(namespace, spec) : 0;
  const due = valid && !aborting ? checkDue(spec, status, now, checkOffsetMs) : undefined;
  if (due && prometheus?.ok) {
    const check = await unlessCancelled(
      runCheck(deps, rollout, spec!, prometheus, world, due, now, signal),
      signal,
    );
    // An abort arrived while Prometheus was asked: its pass runs next and decides on the newer Rollout.
    if (check === CANCELLED) {
      log.debug('check cancelled: an abort arrived');
      return {};
    }
    world.observed.check = check;
  }

  const decision = decide({
    spec: valid ? spec : undefined,
    status,
    observed: world.observed,
    now,
    checkOffsetMs,
    ...(forPass.guarding ? { specProblems: forPass.problems } : {}),
  });
  const entry = outboxEntry(status, decision, now);
  if (entry) decision.status.outbox = { ...decision.status.outbox, [entry[0]]: entry[1] };
  const { before, after } = splitActions(decision.actions, world.observed.canaryWeight);
  for (const action of before) await applyAction(cluster, rollout, world, action);

  const patch = mergePatchBetween(status, decision.status) as Record<string, unknown>;
  if (Object.keys(patch).length > 0) {
    try {
      await cluster.patchRolloutStatus(namespace, name, patch, rollout.metadata.resourceVersion);
    } catch (error) {
      // The Rollout changed while we decided (a command, a spec edit): decide again on the new one.
      if (isConflict(error)) {
        log.debug('status write conflicted; deciding again');
        return { requeueAfterMs: 0 };
      }
      throw error;
    }
  }
  try {
    for (const action of after) await applyAction(cluster, rollout, world, action);
  } finally {
    // What status records as decided is announced even when an action after the write failed.
    await deliverOutbox({ cluster, log, onDecision: deps.onDecision }, rollout, decision.status, decision);
  }

  report(deps, log, rollout, world, decision);
  // The watch event of this pass's own status write wakes nobody (the cache already holds it): a pass that
  // moved the rollout on (phase, step, revision) looks again at once, a routine check waits for its timer.
  if (movedOn(status, decision.status)) return { requeueAfterMs: 0 };
  const routine = routineRecheckMs(deps.random);
  const requeueAfterMs = Math.min(decision.requeueAfterMs ?? routine, routine);
  const wakesAt = new Date(now.getTime() + requeueAfterMs);
  const checkAtWakeUp = checkDue(valid ? spec : undefined, decision.status, wakesAt, checkOffsetMs);
  return { requeueAfterMs, ...(checkAtWakeUp && { requeueLane: PRIORITY.check }) };
}

async function runCheck(
  deps: ReconcileDeps,
  rollout: RolloutObject,
  spec: RolloutSpec,
  prometheus: Extract<PrometheusResolution, { ok: true }>,
  world: World,
  due: DueCheck,
  now: Date,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const namespace = rollout.metadata.namespace;
  const status = rollout.status ?? {};
  const target = await prometheus.resolve(deps.cluster, namespace).catch((error: unknown) => error as Error);
  if (target instanceof Error) {
    return {
      verdict: 'inconclusive',
      metrics: {},
      failures: [],
      inconclusive: [`Prometheus credentials: ${target.message}`],
    };
  }
  return deps.analyzer.check({
    namespace,
    canaryWorkload: workloadName(spec.targetRef.name, 'canary'),
    stableWorkload: workloadName(spec.targetRef.name, 'stable'),
    ...(world.serviceHost ? { serviceHost: world.serviceHost } : {}),
    readyPods: {
      canary: world.observed.canary?.readyReplicas ?? 0,
      stable: world.observed.stable?.readyReplicas ?? 0,
    },
    analysis: spec.analysis,
    prometheus: target,
    // On the interval's grid, shared by the Rollouts checked at the same instant (rollout/checks.ts).
    at: due.at,
    stepStartedAt: due.stepStartedAt,
    windowStartedAt: due.windowStartedAt,
    baselineAt: due.baselineAt,
    ...(due.previousCheckAt ? { previousCheckAt: due.previousCheckAt } : {}),
    ...(spec.steps[(status.currentStep ?? 0) - 1]?.mirror ? { mirrored: true } : {}),
    comparison: status.analysis?.comparison,
    ...(signal ? { signal } : {}),
  });
}

const CANCELLED = Symbol('cancelled');

/** The work's result, or CANCELLED as soon as the signal aborts (the work is not waited for any longer). */
function unlessCancelled<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | typeof CANCELLED> {
  if (!signal) return work;
  if (signal.aborted) return Promise.resolve(CANCELLED);
  return new Promise((resolve, reject) => {
    const cancel = () => resolve(CANCELLED);
    signal.addEventListener('abort', cancel, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', cancel));
  });
}

function movedOn(before: RolloutStatus, after: RolloutStatus): boolean {
  return (
    before.phase !== after.phase ||
    before.currentStep !== after.currentStep ||
    before.canaryRevision !== after.canaryRevision ||
    before.stableRevision !== after.stableRevision
  );
}

/**
 * Lowering the canary weight is safe at any time and goes first; raising it waits for the status write. A
 * weight that could not be read (routes that disagree) may be below the new one on some route: only 0 is
 * then sure to lower it.
 */
function splitActions(
  actions: Action[],
  observedWeight: number | undefined,
): { before: Action[]; after: Action[] } {
  // A mirror or header route sends the canary requests too: an action that sets one waits like a raise.
  const lowers = (a: Action) =>
    a.kind === 'setCanaryWeight' &&
    a.mirrorPercent === undefined &&
    a.headerMatches === undefined &&
    (a.weight === 0 || (observedWeight !== undefined && a.weight < observedWeight));
  return { before: actions.filter(lowers), after: actions.filter((a) => !lowers(a)) };
}

function report(
  deps: ReconcileDeps,
  log: Logger,
  rollout: RolloutObject,
  world: World,
  decision: Decision,
): void {
  const s = decision.status;
  const check = world.observed.check;
  if (check) {
    log.info('analysis check', {
      verdict: check.verdict,
      step: s.currentStep,
      weight: s.canaryWeight,
      requests: check.requests,
      errorRate: check.errorRate,
      p99Ms: check.p99Ms,
      evidence: check.evidence,
      ...(check.failures.length ? { failures: check.failures.map((f) => f.message) } : {}),
      ...(check.inconclusive.length ? { inconclusive: check.inconclusive } : {}),
    });
  }
  for (const action of decision.actions) log.debug('action', { ...action, template: undefined });
  for (const move of decision.moves.filter((m) => !isAllowedMove(m))) {
    log.error('phase change outside the transition table', { ...move });
  }
  // The announcements went out with the outbox; this tells metrics about the pass itself.
  deps.onDecision?.(rollout, { ...decision, announcements: [] }, check);
}
