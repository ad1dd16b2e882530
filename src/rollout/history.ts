// The release history in status.history: each finished release (promoted, rolled back or aborted) with its
// revision, images, outcome, reason and times, newest first and bounded, so the status object stays small.
import type { Phase, ReleaseOutcome, ReleaseRecord, RolloutStatus } from '../api/status.js';
import { imagesOf } from './revision-images.js';
import { observedTemplate } from './templates.js';
import type { Observed } from './types.js';

/** Status is one object in etcd: keep the last few releases, not all of them. */
export const HISTORY_LIMIT = 10;

const OUTCOMES: readonly Phase[] = ['Succeeded', 'RolledBack', 'Aborted'] satisfies ReleaseOutcome[];

/**
 * One more than any number given so far. A status written before revisions were numbered has none: its
 * history's numbers (which counted finished releases) still come first.
 */
const nextRevisionNumber = (status: RolloutStatus) =>
  Math.max(
    status.stableRevisionNumber ?? 0,
    status.canaryRevisionNumber ?? 0,
    status.history?.[0]?.number ?? 0,
  ) + 1;

/** `<app>-stable` runs `revision`: a revision it did not run before gets the next number. */
export function stableRevisionIs(status: RolloutStatus, revision: string): void {
  if (status.stableRevision === revision && status.stableRevisionNumber !== undefined) return;
  status.stableRevision = revision;
  status.stableRevisionNumber = nextRevisionNumber(status);
}

/** Marks the start of a release (a rollout of a new revision, or a retry) and gives it the next number. */
export function releaseStarted(status: RolloutStatus, now: string): void {
  if (status.stableRevision) stableRevisionIs(status, status.stableRevision);
  status.canaryRevisionNumber = nextRevisionNumber(status);
  status.releaseStartedAt = now;
}

/** The promoted release is now stable, with its number. */
export function releasePromoted(status: RolloutStatus): void {
  status.stableRevision = status.canaryRevision;
  status.stableRevisionNumber = status.canaryRevisionNumber;
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
    number: status.canaryRevisionNumber ?? (previous?.number ?? 0) + 1,
    revision: status.canaryRevision,
    images: imagesOf(observedTemplate(observed, status.canaryRevision)),
    outcome: phase as ReleaseOutcome,
    reason,
    message,
    ...(status.releaseStartedAt ? { startedAt: status.releaseStartedAt } : {}),
    finishedAt: now,
  };
  status.history = [record, ...(status.history ?? [])].slice(0, HISTORY_LIMIT);
}
