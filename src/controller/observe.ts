// Reads the world one Rollout depends on and turns it into the state machine's `Observed`.
import type { V1Deployment } from '@kubernetes/client-node';
import type { RolloutSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../rollout/commands.js';
import type { Observed } from '../rollout/types.js';
import { DESTINATION_RULES, type RolloutObject, VIRTUAL_SERVICES } from '../kube/cluster.js';
import type { ClusterAccess } from './cluster-access.js';
import { createIstioRouter, type IstioApi } from '../traffic/istio.js';
import type { TrafficRouter } from '../traffic/router.js';
import { observeWorkload } from '../workload/deployments.js';
import { MANAGED_BY, MANAGED_BY_LABEL, workloadName, type Track } from '../workload/labels.js';
import { revisionOf, withoutStepwiseAdditions } from '../workload/revision.js';

export interface World {
  observed: Observed;
  router?: TrafficRouter;
  target?: V1Deployment;
  tracks: Partial<Record<Track, V1Deployment>>;
  /** The DestinationRule's host, for the callers' reports of requests no canary pod answered. */
  serviceHost?: string;
}

export function istioApi(cluster: ClusterAccess): IstioApi {
  return {
    getVirtualService: (ns, name) => cluster.getCustom(VIRTUAL_SERVICES, ns, name),
    getDestinationRule: (ns, name) => cluster.getCustom(DESTINATION_RULES, ns, name),
    patchVirtualService: async (ns, name, patch) => {
      await cluster.patchCustom(VIRTUAL_SERVICES, ns, name, patch);
    },
  };
}

function commandOf(rollout: RolloutObject): Observed['command'] {
  const annotations = rollout.metadata.annotations ?? {};
  const name = annotations[COMMAND_ANNOTATION];
  const id = annotations[COMMAND_ID_ANNOTATION];
  return name && id ? { id, name } : undefined;
}

/** A `-stable`/`-canary` Deployment that this Rollout does not own is never taken over. */
function ownedBy(deployment: V1Deployment, rollout: RolloutObject): boolean {
  return (deployment.metadata?.ownerReferences ?? []).some(
    (ref) =>
      ref.kind === rollout.kind && ref.name === rollout.metadata.name && ref.uid === rollout.metadata.uid,
  );
}

export async function observeWorld(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  spec: RolloutSpec | undefined,
  problems: Problem[],
): Promise<World> {
  const namespace = rollout.metadata.namespace;
  const observed: Observed = {
    generation: rollout.metadata.generation ?? 0,
    problems: [...problems],
    command: commandOf(rollout),
  };
  const world: World = { observed, tracks: {} };
  if (!spec) return world;

  const app = spec.targetRef.name;
  const router = createIstioRouter({
    api: istioApi(cluster),
    namespace,
    istioSpec: spec.trafficRouting.istio,
  });
  const [target, stable, canary, routing] = await Promise.all([
    cluster.getDeployment(namespace, app),
    cluster.getDeployment(namespace, workloadName(app, 'stable')),
    cluster.getDeployment(namespace, workloadName(app, 'canary')),
    router.inspect(),
  ]);
  world.router = router;

  if (!target?.spec?.template) {
    observed.targetMissing = {
      path: 'spec.targetRef.name',
      message: `Deployment ${JSON.stringify(app)} not found in namespace ${JSON.stringify(namespace)}; create it or fix the name`,
    };
  } else {
    world.target = target;
    const template = withoutStepwiseAdditions(target.spec.template);
    observed.target = { revision: revisionOf(template), template, replicas: target.spec.replicas ?? 1 };
  }
  for (const [track, deployment] of [
    ['stable', stable],
    ['canary', canary],
  ] as const) {
    if (!deployment) continue;
    if (!ownedBy(deployment, rollout)) {
      const name = JSON.stringify(workloadName(app, track));
      // Left serving on purpose by the finalizer of a deleted Rollout: deleting it now would be an outage.
      const kept =
        deployment.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
        !deployment.metadata?.ownerReferences?.length;
      observed.problems.push({
        path: 'spec.targetRef.name',
        message: kept
          ? `Deployment ${name} was kept serving when an earlier Rollout of ${JSON.stringify(app)} was deleted and is not taken over; first serve the app from Deployment ${JSON.stringify(app)} again, then delete ${name} (docs/operations.md, "Deleting a Rollout")`
          : `Deployment ${name} exists but does not belong to this Rollout; delete or rename it`,
      });
      continue;
    }
    world.tracks[track] = deployment;
    observed[track] = observeWorkload(deployment);
  }
  if (routing.ok) {
    if (routing.inSync) observed.canaryWeight = routing.canaryWeight;
    if (routing.host !== undefined) world.serviceHost = routing.host;
  } else if (routing.awaitingSubsets) {
    observed.awaitingRouting = routing.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  } else {
    observed.problems.push(...routing.problems);
  }
  return world;
}
