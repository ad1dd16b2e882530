// The replay memory every controller replica shares. Both replicas serve the webhook behind one Service, so a
// signature accepted by one must be refused by the other: accepted signatures are recorded on the target Rollout
// (the API server is the only state replicas share), in an annotation written with the resourceVersion read. A
// 409 means another replica (or the controller's own status write) got there first: read again, decide again.
// This is the optimistic concurrency Kubernetes documents for every update (api-concepts, "resource versions").
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { isConflict } from '../kube/errors.js';
import { TriggerError } from '../trigger/set-image.js';
import { REPLAY_WINDOW_SECONDS, type ReplayVerdict } from './webhook-replay.js';

export const SIGNATURES_ANNOTATION = 'stepwise.dev/trigger-signatures';

/** The recorded signatures: a hash of each (never the signature itself) → its timestamp and who wrote it. */
type Recorded = Record<string, { t: number; by: string }>;

export interface SharedReplayLimits {
  windowSeconds: number;
  /** Signatures kept per Rollout; beyond that a new one is refused with 503 until old ones expire. */
  capacity: number;
}

export const SHARED_REPLAY_LIMITS: SharedReplayLimits = {
  windowSeconds: REPLAY_WINDOW_SECONDS,
  capacity: 64,
};

export type Decision =
  | { kind: 'record'; annotation: string }
  /** Our own earlier write landed (its answer was lost and the retried patch got 409). */
  | { kind: 'ours' }
  | { kind: 'refused'; verdict: ReplayVerdict & { ok: false } };

/** 128 bits of SHA-256 of the digest: enough to tell signatures apart, useless to anyone reading the Rollout. */
export const signatureKey = (digest: string) =>
  createHash('sha256').update(digest).digest('hex').slice(0, 32);

function parseRecorded(annotation: string | undefined): Recorded {
  if (!annotation) return {};
  try {
    const parsed: unknown = JSON.parse(annotation);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const recorded: Recorded = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      const { t, by } = (value ?? {}) as { t?: unknown; by?: unknown };
      if (typeof t === 'number' && typeof by === 'string') recorded[key] = { t, by };
    }
    return recorded;
  } catch {
    return {};
  }
}

/**
 * Whether a verified signature may be used, given the annotation as read. An entry is kept for two windows after
 * its timestamp, by this replica's clock: a replica whose clock is up to one window behind still accepts that
 * timestamp, so it must still find the entry.
 */
export function decide(
  annotation: string | undefined,
  key: string,
  timestamp: number,
  writer: string,
  nowSeconds: number,
  limits: SharedReplayLimits = SHARED_REPLAY_LIMITS,
): Decision {
  const kept = Object.entries(parseRecorded(annotation)).filter(
    ([, entry]) => nowSeconds - entry.t <= 2 * limits.windowSeconds,
  );
  const found = kept.find(([k]) => k === key)?.[1];
  if (found?.by === writer) return { kind: 'ours' };
  if (found)
    return {
      kind: 'refused',
      verdict: {
        ok: false,
        status: 401,
        reason:
          'this signature was used already (a controller replica recorded it on the Rollout); sign every request anew',
      },
    };
  if (kept.length >= limits.capacity)
    return {
      kind: 'refused',
      verdict: {
        ok: false,
        status: 503,
        reason: `more than ${limits.capacity} signed triggers for this Rollout within ${2 * limits.windowSeconds} s; try again later`,
      },
    };
  const recorded: Recorded = Object.fromEntries([...kept, [key, { t: timestamp, by: writer }]]);
  return { kind: 'record', annotation: JSON.stringify(recorded) };
}

const ATTEMPTS = 5;

/**
 * Records a verified signature on Rollout `namespace/name`, or says why it may not be used. Throws a
 * TriggerError (404) when the Rollout does not exist, and the API server's error when it cannot be reached.
 */
export async function recordOnRollout(
  cluster: Pick<Cluster, 'getRollout' | 'patchRolloutMetadata'>,
  namespace: string,
  name: string,
  digest: string,
  timestamp: number,
  now: () => number = Date.now,
): Promise<ReplayVerdict> {
  const key = signatureKey(digest);
  // Tells this request's own write apart from another replica's when a retried patch meets it.
  const writer = randomBytes(6).toString('hex');
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const rollout: RolloutObject | undefined = await cluster.getRollout(namespace, name);
    if (!rollout) throw new TriggerError(`Rollout ${namespace}/${name} not found`, 'notFound');
    const decision = decide(
      rollout.metadata.annotations?.[SIGNATURES_ANNOTATION],
      key,
      timestamp,
      writer,
      now() / 1000,
    );
    if (decision.kind === 'ours') return { ok: true };
    if (decision.kind === 'refused') return decision.verdict;
    try {
      await cluster.patchRolloutMetadata(namespace, name, {
        resourceVersion: rollout.metadata.resourceVersion,
        annotations: { [SIGNATURES_ANNOTATION]: decision.annotation },
      });
      return { ok: true };
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  return {
    ok: false,
    status: 503,
    reason: `Rollout ${namespace}/${name} kept changing while the signature was recorded; sign anew and try again`,
  };
}
