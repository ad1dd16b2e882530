import type { Logger } from 'winston';
import { validateSpec } from '../api/validate.js';
import type { CanaryAnalyzer, CheckResult } from '../analysis/types.js';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { isConflict } from '../kube/errors.js';
import { mergePatchBetween } from '../kube/merge-patch.js';
import { checkDue } from '../rollout/checks.js';
import { decide } from '../rollout/transitions.js';
import type { Action, Decision } from '../rollout/types.js';
import { workloadName } from '../workload/labels.js';
import { applyAction } from './act.js';
import { observeWorld, type World } from './observe.js';
import { resolvePrometheus } from './prometheus-target.js';

export interface ReconcileDeps {
  cluster: Cluster;
  analyzer: CanaryAnalyzer;
  logger: Logger;
  now: () => Date;
  /** --prometheus-address: used when a Rollout does not name its own. */
  defaultPrometheus?: string;
  /** Told about every decision (metrics, notifications). */
  onDecision?: (rollout: RolloutObject, decision: Decision, check: CheckResult | undefined) => void;
}

export interface PassResult {
  requeueAfterMs?: number;
}

// Periodic look even when nothing happens, so a lost event or timer never strands a rollout.
const RESYNC_MS = 60_000;

/**
 * One pass for one Rollout: read the current world, run a check if one is due, decide, then act.
 * Traffic leaves the canary before the status write; everything else happens after it, so a controller
 * that dies at any point resumes from status with the world catching up, never running ahead.
 */
export async function reconcile(deps: ReconcileDeps, namespace: string, name: string): Promise<PassResult> {
  const { cluster, logger } = deps;
  const rollout = await cluster.getRollout(namespace, name);
  if (!rollout) return {};
  const log = logger.child({ namespace, rollout: name });
  const now = deps.now();
  const status = rollout.status ?? {};

  const validation = validateSpec(rollout.spec);
  const spec = validation.ok ? validation.spec : undefined;
  const problems = validation.ok ? [] : validation.problems;
  const prometheus = spec ? resolvePrometheus(spec, deps.defaultPrometheus) : undefined;
  if (prometheus && !prometheus.ok) problems.push(prometheus.problem);

  const world = await observeWorld(cluster, rollout, problems.length ? undefined : spec, problems);
  const valid = world.observed.problems.length === 0 && spec !== undefined;

  const due = valid ? checkDue(spec, status, now) : undefined;
  if (due && prometheus?.ok) {
    const target = await prometheus.resolve(cluster, namespace).catch((error: unknown) => error as Error);
    world.observed.check =
      target instanceof Error
        ? {
            verdict: 'inconclusive',
            metrics: {},
            failures: [],
            inconclusive: [`Prometheus credentials: ${target.message}`],
          }
        : await deps.analyzer.check({
            namespace,
            canaryWorkload: workloadName(spec!.targetRef.name, 'canary'),
            stableWorkload: workloadName(spec!.targetRef.name, 'stable'),
            ...(world.serviceHost ? { serviceHost: world.serviceHost } : {}),
            analysis: spec!.analysis,
            prometheus: target,
            at: now,
            stepStartedAt: due.stepStartedAt,
            ...(due.previousCheckAt ? { previousCheckAt: due.previousCheckAt } : {}),
            comparison: status.analysis?.comparison,
          });
  }

  const decision = decide({ spec: valid ? spec : undefined, status, observed: world.observed, now });
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
  for (const action of after) await applyAction(cluster, rollout, world, action);

  report(deps, log, rollout, world, decision);
  return { requeueAfterMs: Math.min(decision.requeueAfterMs ?? RESYNC_MS, RESYNC_MS) };
}

/** Lowering the canary weight is safe at any time and goes first; raising it waits for the status write. */
function splitActions(
  actions: Action[],
  observedWeight: number | undefined,
): { before: Action[]; after: Action[] } {
  const lowers = (a: Action) => a.kind === 'setCanaryWeight' && a.weight < (observedWeight ?? Infinity);
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
  for (const announcement of decision.announcements) {
    const level = announcement.type === 'Warning' ? 'warn' : 'info';
    log.log(level, announcement.message, {
      reason: announcement.reason,
      phase: s.phase,
      step: s.currentStep,
      weight: s.canaryWeight,
    });
    // Events are best effort: a failed Event must never fail or repeat the pass that decided.
    deps.cluster
      .createEvent(rollout.metadata.namespace, rollout, announcement)
      .catch((error: unknown) => log.warn('could not record event', { error: String(error) }));
  }
  deps.onDecision?.(rollout, decision, check);
}
