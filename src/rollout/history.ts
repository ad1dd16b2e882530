// The release history in status.history: each finished release (promoted, rolled back or aborted) with its
// revision, images, outcome, reason and times, newest first and bounded, so the status object stays small.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { Phase, ReleaseOutcome, ReleaseRecord, RolloutStatus } from '../api/status.js';
import type { Observed } from './types.js';

/** Status is one object in etcd: keep the last few releases, not all of them. */
export const HISTORY_LIMIT = 10;

const OUTCOMES: readonly Phase[] = ['Succeeded', 'RolledBack', 'Aborted'] satisfies ReleaseOutcome[];

const imagesOf = (template: V1PodTemplateSpec | undefined) =>
  template?.spec?.containers.map((c) => `${c.name}=${c.image ?? ''}`) ?? [];

/** The canary's template: from whichever observed Deployment (canary, target, stable) holds its revision. */
const canaryTemplate = (revision: string, observed: Observed) =>
  [observed.canary, observed.target, observed.stable].find((track) => track?.revision === revision)?.template;

/** Marks the start of a release (a rollout of a new revision, or a retry). */
export function releaseStarted(status: RolloutStatus, now: string): void {
  status.releaseStartedAt = now;
}

/**
 * Called on every phase change: entering Succeeded, RolledBack or Aborted ends the release under way and
 * adds it to the history. Idempotent per release: the start mark is consumed by the first record.
 */
export function recordReleaseEnd(
  status: RolloutStatus,
  observed: Observed,
  now: string,
  phase: Phase,
  reason: string,
  message: string,
): void {
  if (!OUTCOMES.includes(phase) || !status.canaryRevision) return;
  const previous = status.history?.[0];
  const sameRelease =
    previous?.revision === status.canaryRevision && previous.startedAt === status.releaseStartedAt;
  if (sameRelease) return;
  const record: ReleaseRecord = {
    number: (previous?.number ?? 0) + 1,
    revision: status.canaryRevision,
    images: imagesOf(canaryTemplate(status.canaryRevision, observed)),
    outcome: phase as ReleaseOutcome,
    reason,
    message,
    ...(status.releaseStartedAt ? { startedAt: status.releaseStartedAt } : {}),
    finishedAt: now,
  };
  status.history = [record, ...(status.history ?? [])].slice(0, HISTORY_LIMIT);
}
