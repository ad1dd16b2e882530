// Carries out the state machine's actions against the cluster. Every action is idempotent.
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { RolloutObject } from '../kube/cluster.js';
import type { ClusterAccess } from './cluster-access.js';
import type { Action } from '../rollout/types.js';
import { scalePatch, templatePatch, trackDeployment, type RolloutOwner } from '../workload/deployments.js';
import { trackService } from '../workload/services.js';
import { workloadName, type Track } from '../workload/labels.js';
import type { World } from './observe.js';

export async function applyAction(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  world: World,
  action: Action,
): Promise<void> {
  const namespace = rollout.metadata.namespace;
  await createMissingServices(cluster, rollout, world);
  switch (action.kind) {
    case 'setCanaryWeight': {
      const { kind: _kind, ...state } = action;
      await world.router!.setRoute(state);
      return;
    }
    case 'applyStable':
      await applyTrack(cluster, rollout, world, 'stable', action.template, action.revision, action.replicas);
      return;
    case 'applyCanary':
      await applyTrack(cluster, rollout, world, 'canary', action.template, action.revision, action.replicas);
      return;
    case 'scaleCanary': {
      const canary = world.tracks.canary;
      if (canary && (canary.spec?.replicas ?? 1) !== action.replicas) {
        await cluster.patchDeployment(namespace, canary.metadata!.name!, scalePatch(action.replicas));
      }
      return;
    }
    case 'scaleTarget': {
      const target = world.target!;
      await cluster.patchDeployment(namespace, target.metadata!.name!, scalePatch(action.replicas));
      return;
    }
  }
}

/** Create the track Deployment, or bring its template and replicas to what the action asks. */
async function applyTrack(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  world: World,
  track: Track,
  template: V1PodTemplateSpec,
  revision: string,
  replicas: number,
): Promise<void> {
  const namespace = rollout.metadata.namespace;
  const target = world.target!;
  const current = world.tracks[track];
  if (!current) {
    const source: V1Deployment = { ...target, spec: { ...target.spec!, template } };
    await cluster.createDeployment(
      namespace,
      trackDeployment({ target: source, track, replicas, owner: ownerOf(rollout) }),
    );
    return;
  }
  const observedRevision = world.observed[track]?.revision;
  const name = current.metadata?.name ?? workloadName(target.metadata!.name!, track);
  if (observedRevision !== revision) {
    const patch = templatePatch(current, template, track) as { spec: Record<string, unknown> };
    await cluster.patchDeployment(namespace, name, { ...patch, spec: { ...patch.spec, replicas } });
  } else if ((current.spec?.replicas ?? 1) !== replicas) {
    await cluster.patchDeployment(namespace, name, scalePatch(replicas));
  }
}

function ownerOf(rollout: RolloutObject): RolloutOwner {
  return {
    apiVersion: rollout.apiVersion,
    kind: rollout.kind,
    name: rollout.metadata.name,
    uid: rollout.metadata.uid!,
  };
}

/** A host split routes to both track Services from its first weight on: create them before any other action. */
async function createMissingServices(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  world: World,
): Promise<void> {
  const services = world.services;
  if (!services || services.missing.length === 0 || !world.target) return;
  for (const track of services.missing) {
    const body = trackService({
      name: services.names[track],
      target: {
        ...world.target,
        metadata: { ...world.target.metadata, namespace: rollout.metadata.namespace },
      },
      track,
      owner: ownerOf(rollout),
      ...(services.app && { appService: services.app }),
    });
    await cluster.createService(rollout.metadata.namespace, body);
  }
  services.missing = [];
}
