// Announcing transitions exactly once (DESIGN §3.7): a pass's announcements are written into status.outbox
// with the decision itself, delivered once its actions ran (or failed), and removed from the outbox after.
// A controller that dies in between finds them in status and delivers them in its next pass. Events get a
// fixed name, so one delivered again meets 409 and is not recorded twice; a notification can only repeat if
// the controller dies in the instant between handing it off and removing the entry.
import type { Logger } from 'winston';
import type { OutboxEntry, RolloutStatus } from '../api/status.js';
import type { RolloutObject } from '../kube/cluster.js';
import { isConflict } from '../kube/errors.js';
import type { Decision } from '../rollout/types.js';
import type { ClusterAccess } from './cluster-access.js';

export interface Announcer {
  cluster: ClusterAccess;
  log: Logger;
  onDecision?: (rollout: RolloutObject, decision: Decision, check: undefined) => void;
}

/** The outbox entry for a pass that announced something, under an id unique to that pass. */
export function outboxEntry(
  before: RolloutStatus,
  decision: Decision,
  now: Date,
): [string, OutboxEntry] | undefined {
  if (decision.announcements.length === 0) return undefined;
  const s = decision.status;
  const id = `${now.getTime().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return [
    id,
    {
      at: now.toISOString(),
      from: { phase: before.phase, currentStep: before.currentStep, canaryWeight: before.canaryWeight },
      to: { phase: s.phase, reason: s.reason, message: s.message },
      announcements: decision.announcements,
    },
  ];
}

/** Records the Events of every entry, hands the notifications off, then removes the delivered entries. */
export async function deliverOutbox(
  announcer: Announcer,
  rollout: RolloutObject,
  status: RolloutStatus,
  decision: Decision,
): Promise<void> {
  const { cluster, log } = announcer;
  const { namespace, name } = rollout.metadata;
  const entries = Object.entries(status.outbox ?? {}).sort(([, a], [, b]) => a.at.localeCompare(b.at));
  const delivered: string[] = [];
  for (const [id, entry] of entries) {
    if (!(await recordEvents(cluster, log, rollout, id, entry))) continue;
    for (const a of entry.announcements) {
      log.log(a.type === 'Warning' ? 'warn' : 'info', a.message, {
        reason: a.reason,
        phase: entry.to.phase,
        step: status.currentStep,
        weight: status.canaryWeight,
      });
    }
    // Notifications and metrics see the transition as the pass that decided it saw it.
    announcer.onDecision?.(
      { ...rollout, status: { ...status, ...entry.from } },
      { ...decision, status: { ...status, ...entry.to }, actions: [], announcements: entry.announcements },
      undefined,
    );
    delivered.push(id);
  }
  if (delivered.length === 0) return;
  const outbox = Object.fromEntries(delivered.map((id) => [id, null]));
  await cluster.patchRolloutStatus(namespace, name, { outbox }, undefined).catch((error: unknown) => {
    log.warn('could not clear delivered announcements; the next pass tries again', { error: String(error) });
  });
}

async function recordEvents(
  cluster: ClusterAccess,
  log: Logger,
  rollout: RolloutObject,
  id: string,
  entry: OutboxEntry,
): Promise<boolean> {
  for (const [i, a] of entry.announcements.entries()) {
    try {
      await cluster.createEvent(rollout.metadata.namespace, rollout, {
        type: a.type,
        reason: a.reason,
        message: a.message,
        // Within the 253 characters of an object name, however long the Rollout's name.
        name: `${rollout.metadata.name.slice(0, 230)}.${id}.${i}`,
      });
    } catch (error) {
      if (isConflict(error)) continue; // recorded by an earlier delivery
      log.warn('could not record event; the next pass tries again', { error: String(error) });
      return false;
    }
  }
  return true;
}
