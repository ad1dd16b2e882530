import type { NotificationEvent } from '../api/schema.js';
import type { RolloutStatus } from '../api/status.js';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { Announcement, Decision } from '../rollout/types.js';

/** One transition worth telling people about, with the facts a receiver may want to filter or chart. */
export interface Notification {
  event: NotificationEvent;
  namespace: string;
  rollout: string;
  phase: string;
  /** The transition's reason (ErrorRate, P99Latency, Gate, Promoted...), as in the Kubernetes Event. */
  reason: string;
  /** The same sentence as the Kubernetes Event and status.message. */
  message: string;
  severity: 'info' | 'warning';
  /** 1-based step the transition happened at (for a rollback: the step that was running). */
  step?: number;
  /** Canary weight (percent) when it happened. */
  weight?: number;
  stableRevision?: string;
  canaryRevision?: string;
  /** What breached its limit, for a rollback decided by a check. */
  metric?: string;
  value?: number;
  limit?: number;
  /** The latest analysis values. */
  analysis?: { requests?: number; errorRate?: number; p99Ms?: number; evidence?: number };
  at: string;
}

function definedValues(a: NonNullable<RolloutStatus['analysis']>): Notification['analysis'] {
  const values = { requests: a.requests, errorRate: a.errorRate, p99Ms: a.p99Ms, evidence: a.evidence };
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

const STARTED = new Set(['RolloutStarted', 'Retry', 'NewRevision']);

function eventOf(
  a: Announcement,
  decision: Decision,
  phaseBefore: string | undefined,
): NotificationEvent | undefined {
  const s = decision.status;
  if (a.reason === 'StepPassed') return 'stepPassed';
  if (a.reason === 'Promoted') return 'promoted';
  if (STARTED.has(a.reason) && a.type === 'Normal' && a.message.startsWith('rolling out')) return 'started';
  // A move into a phase is the announcement that set status.reason and status.message.
  const final = a.reason === s.reason && a.message === s.message;
  // Paused at a gate, or holding on inconclusive data (the same reason rolls back with onInconclusive: rollback).
  if (a.reason === 'Gate' || (a.reason === 'Inconclusive' && final && s.phase === 'Paused')) return 'paused';
  if (final && s.phase === 'RolledBack' && phaseBefore !== 'RolledBack') return 'rolledBack';
  if (final && s.phase === 'Aborted' && phaseBefore !== 'Aborted') return 'aborted';
  return undefined;
}

/** The notifications one reconcile decision calls for (usually none). */
export function notificationsFor(
  rollout: RolloutObject,
  decision: Decision,
  check: CheckResult | undefined,
  now = new Date(),
): Notification[] {
  const before = rollout.status ?? {};
  const s = decision.status;
  const out: Notification[] = [];
  for (const a of decision.announcements) {
    const event = eventOf(a, decision, before.phase);
    if (!event) continue;
    // A passed step or a rollback is about the step the pass started from (a rollback sets the weight to 0).
    const past = event === 'stepPassed' || event === 'rolledBack' || event === 'aborted';
    const step = (past ? before.currentStep : s.currentStep) || undefined;
    const weight = past ? before.canaryWeight : s.canaryWeight;
    const finding = event === 'rolledBack' ? (a.finding ?? check?.failures[0]) : undefined;
    const analysis = s.analysis;
    out.push({
      event,
      namespace: rollout.metadata.namespace,
      rollout: rollout.metadata.name,
      phase: s.phase ?? '',
      reason: a.reason,
      message: a.message,
      severity: a.type === 'Warning' ? 'warning' : 'info',
      ...(step !== undefined ? { step } : {}),
      ...(weight !== undefined ? { weight } : {}),
      ...(s.stableRevision ? { stableRevision: s.stableRevision } : {}),
      ...(s.canaryRevision ? { canaryRevision: s.canaryRevision } : {}),
      ...(finding ? { metric: finding.metric, value: finding.value, limit: finding.limit } : {}),
      ...(analysis?.lastCheckAt ? { analysis: definedValues(analysis) } : {}),
      at: now.toISOString(),
    });
  }
  return out;
}
