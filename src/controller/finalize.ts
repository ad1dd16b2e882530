// Deleting a Rollout must not fail a request. Its Deployments carry owner references to it, so without a
// finalizer the garbage collector deletes `<app>-stable` while the user's Deployment sits at 0 replicas.
// Stepwise's finalizer therefore hands all traffic to stable, waits for the mesh to follow, and orphans
// `<app>-stable` on purpose: it keeps serving, no longer managed. Only the canary, at weight 0 by then, is
// garbage-collected. (Flagger has the same outage without `revertOnDeletion`; giving traffic back to the
// user's Deployment instead would need a VirtualService Stepwise promised not to touch beyond the weights.)
import type { Logger } from 'winston';
import { rolloutSpecSchema } from '../api/schema.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { ClusterAccess } from './cluster-access.js';
import { isConflict } from '../kube/errors.js';
import type { TrafficRouter } from '../traffic/router.js';
import { workloadName } from '../workload/labels.js';
import { routerFor } from './observe.js';

export const FINALIZER = 'stepwise.dev/keep-stable-serving';
/** When the finalizer moved the canary's traffic to stable (so a restarted controller still waits). */
export const TRAFFIC_RELEASED_ANNOTATION = 'stepwise.dev/traffic-released-at';
/**
 * How long the canary keeps running after its weight went to 0, for every proxy to get the new routes.
 * istiod batches config changes for up to PILOT_DEBOUNCE_MAX (10 s by default) before pushing them.
 */
export const DRAIN_MS = 10_000;

export interface FinalizeDeps {
  cluster: ClusterAccess;
  logger: Logger;
  now: () => Date;
}

/**
 * Runs first in every pass. Adds the finalizer to a live Rollout; on a deleted one does the next step of the
 * hand-over and removes the finalizer at the end. Returns the pass's result when the pass must end here.
 */
export async function finalize(
  deps: FinalizeDeps,
  rollout: RolloutObject,
): Promise<{ requeueAfterMs?: number } | undefined> {
  const finalizers = rollout.metadata.finalizers ?? [];
  if (!rollout.metadata.deletionTimestamp) {
    if (finalizers.includes(FINALIZER)) return undefined;
    // The rest of the pass runs on the next read, which carries the finalizer's resourceVersion.
    await writeMetadata(deps.cluster, rollout, { finalizers: [...finalizers, FINALIZER] });
    return { requeueAfterMs: 0 };
  }
  if (!finalizers.includes(FINALIZER)) return {};
  const log = deps.logger.child({ namespace: rollout.metadata.namespace, rollout: rollout.metadata.name });

  const released = await releaseCanaryTraffic(deps, rollout, log);
  if (released) return released;
  const releasedAt = Date.parse(rollout.metadata.annotations?.[TRAFFIC_RELEASED_ANNOTATION] ?? '');
  const draining = releasedAt + DRAIN_MS - deps.now().getTime();
  if (draining > 0) return { requeueAfterMs: draining };

  const stable = await keepStableServing(deps.cluster, rollout);
  if (stable === 'conflict') return { requeueAfterMs: 0 };
  const removed = await writeMetadata(deps.cluster, rollout, {
    finalizers: finalizers.filter((f) => f !== FINALIZER),
  });
  if (!removed) return { requeueAfterMs: 0 };
  const message = stable
    ? `Rollout deleted: ${stable} keeps serving all traffic and is no longer managed by Stepwise`
    : 'Rollout deleted';
  log.info(message, { reason: 'Deleted' });
  await deps.cluster
    .createEvent(rollout.metadata.namespace, rollout, { type: 'Normal', reason: 'Deleted', message })
    .catch((error: unknown) => log.warn('could not record event', { error: String(error) }));
  return {};
}

/** Sets the canary weight to 0 if it is not; says to come back after the drain when it did. */
async function releaseCanaryTraffic(
  deps: FinalizeDeps,
  rollout: RolloutObject,
  log: Logger,
): Promise<{ requeueAfterMs: number } | undefined> {
  // Only the routing part has to be valid: a spec broken elsewhere (analysis, steps) still names its routes.
  const parsed = rolloutSpecSchema.shape.trafficRouting.safeParse(
    (rollout.spec as { trafficRouting?: unknown } | undefined)?.trafficRouting,
  );
  if (!parsed.success) {
    log.warn('deleting a Rollout whose trafficRouting is invalid: its routes are unknown, the weights stay');
    return undefined;
  }
  // The same router the reconcile uses: a Gateway API route, an Istio host split or subset split.
  const target = (rollout.spec as { targetRef?: { name?: unknown } } | undefined)?.targetRef?.name;
  let router: TrafficRouter;
  try {
    router = routerFor(
      deps.cluster,
      rollout.metadata.namespace,
      parsed.data,
      typeof target === 'string' && target !== '' ? target : undefined,
    );
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    log.warn('deleting a Rollout whose routing Services are unknown (no targetRef.name): the weights stay');
    return undefined;
  }
  const routing = await router.inspect();
  // Not routed by subsets yet (adoption), or the routing objects are gone: nothing sends traffic to the canary. A
  // mirror or header route of Stepwise's still does, at weight 0: it is removed with the weight.
  const added =
    routing.ok && (routing.added.mirrorPercent !== undefined || routing.added.headerRoute !== undefined);
  if (!routing.ok || (routing.inSync && routing.canaryWeight === 0 && !added)) return undefined;
  // The time is written first, so a controller restarted after the weight change still waits the drain out.
  const noted = await writeMetadata(deps.cluster, rollout, {
    annotations: { [TRAFFIC_RELEASED_ANNOTATION]: deps.now().toISOString() },
  });
  if (!noted) return { requeueAfterMs: 0 };
  await router.setRoute({ weight: 0 });
  log.info('Rollout being deleted: all traffic back to stable before the canary goes', {
    weight: routing.canaryWeight,
    drainMs: DRAIN_MS,
  });
  return { requeueAfterMs: DRAIN_MS };
}

/** Drops this Rollout's owner reference from `<app>-stable`, so garbage collection leaves it running. */
async function keepStableServing(
  cluster: ClusterAccess,
  rollout: RolloutObject,
): Promise<string | 'conflict' | undefined> {
  const target = (rollout.spec as { targetRef?: { name?: unknown } } | undefined)?.targetRef?.name;
  if (typeof target !== 'string' || target === '') return undefined;
  const name = workloadName(target, 'stable');
  const stable = await cluster.getDeployment(rollout.metadata.namespace, name);
  const refs = stable?.metadata?.ownerReferences ?? [];
  const others = refs.filter((ref) => ref.uid !== rollout.metadata.uid);
  if (!stable || others.length === refs.length) return stable ? name : undefined;
  try {
    await cluster.patchDeployment(rollout.metadata.namespace, name, {
      metadata: {
        resourceVersion: stable.metadata?.resourceVersion,
        ownerReferences: others.length ? others : null,
      },
    });
  } catch (error) {
    if (isConflict(error)) return 'conflict';
    throw error;
  }
  return name;
}

/** Metadata merge patch guarded by the resourceVersion read; false on 409 (the Rollout changed: read again). */
async function writeMetadata(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  metadata: Record<string, unknown>,
): Promise<boolean> {
  try {
    await cluster.patchRolloutMetadata(rollout.metadata.namespace, rollout.metadata.name, {
      ...metadata,
      resourceVersion: rollout.metadata.resourceVersion,
    });
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}
