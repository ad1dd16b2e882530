// Reads the world one Rollout depends on and turns it into the state machine's `Observed`.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { RolloutSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import { COMMAND_ANNOTATION, COMMAND_ID_ANNOTATION } from '../rollout/commands.js';
import type { Observed } from '../rollout/types.js';
import {
  DESTINATION_RULES,
  GRPC_ROUTES,
  HTTP_ROUTES,
  type RolloutObject,
  VIRTUAL_SERVICES,
} from '../kube/cluster.js';
import type { ClusterAccess } from './cluster-access.js';
import { waypointProblems } from '../traffic/ambient-waypoint.js';
import { stepKind, stepTraffic } from '../api/steps.js';
import { createGatewayRouter, type GatewayApi } from '../traffic/gateway-api.js';
import { createIstioRouter, hostSplitServices, type IstioApi } from '../traffic/istio.js';
import type { PlannedStep, TrafficRouter } from '../traffic/router.js';
import { observeWorkload } from '../workload/deployments.js';
import { MANAGED_BY, MANAGED_BY_LABEL, workloadName, type Track } from '../workload/labels.js';
import { revisionOf, withoutStepwiseAdditions } from '../workload/revision.js';
import { trackServiceProblem } from '../workload/services.js';

export interface World {
  observed: Observed;
  router?: TrafficRouter;
  target?: V1Deployment;
  tracks: Partial<Record<Track, V1Deployment>>;
  /** A host split's track Services that do not exist yet (Stepwise creates them), and the app's own Service. */
  services?: { names: Record<Track, string>; missing: Track[]; app?: V1Service };
  /** The canary's service host (see RoutingInspection.host), for the callers' reports of requests no canary pod answered. */
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

export function gatewayApi(cluster: ClusterAccess): GatewayApi {
  // Each kind's resource named at its call, so the RBAC scan (test/packaging/rbac.test.ts) sees both.
  return {
    getRoute: (kind, ns, name) =>
      kind === 'HTTPRoute'
        ? cluster.getCustom(HTTP_ROUTES, ns, name)
        : cluster.getCustom(GRPC_ROUTES, ns, name),
    patchRoute: (kind, ns, name, operations) =>
      kind === 'HTTPRoute'
        ? cluster.jsonPatchCustom(HTTP_ROUTES, ns, name, operations)
        : cluster.jsonPatchCustom(GRPC_ROUTES, ns, name, operations),
  };
}

function commandOf(rollout: RolloutObject): Observed['command'] {
  const annotations = rollout.metadata.annotations ?? {};
  const name = annotations[COMMAND_ANNOTATION];
  const id = annotations[COMMAND_ID_ANNOTATION];
  return name && id ? { id, name } : undefined;
}

/** A `-stable`/`-canary` Deployment that this Rollout does not own is never taken over. */
function ownedBy(object: V1Deployment | V1Service, rollout: RolloutObject): boolean {
  return (object.metadata?.ownerReferences ?? []).some(
    (ref) =>
      ref.kind === rollout.kind && ref.name === rollout.metadata.name && ref.uid === rollout.metadata.uid,
  );
}

/**
 * The router of the Rollout's routing mode: a Gateway API route, else an Istio subset or host split. `target`
 * (targetRef.name) names a host split's default Services; without it such a split throws a TypeError.
 */
export function routerFor(
  cluster: ClusterAccess,
  namespace: string,
  trafficRouting: RolloutSpec['trafficRouting'],
  target: string | undefined,
): TrafficRouter {
  const { istio, gatewayAPI } = trafficRouting;
  return gatewayAPI
    ? createGatewayRouter({ api: gatewayApi(cluster), namespace, gatewaySpec: gatewayAPI, target })
    : createIstioRouter({ api: istioApi(cluster), namespace, istioSpec: istio!, target });
}

/** The states of the steps that add a mirror or a header route, for the router to try before they are reached. */
function plannedAdditions(spec: RolloutSpec): PlannedStep[] {
  return spec.steps.flatMap((_, step) => {
    const state = stepTraffic(spec.steps, step);
    return state.mirrorPercent !== undefined || state.headerMatches ? [{ step, state }] : [];
  });
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
  const { istio, gatewayAPI } = spec.trafficRouting;
  const router = routerFor(cluster, namespace, spec.trafficRouting, app);
  // A host split and Gateway API backendRefs send to one Service per track.
  const split = gatewayAPI ?? (istio?.destinationRule === undefined ? istio : undefined);
  if (split) await observeServices(cluster, rollout, world, hostSplitServices(split, app));
  const [target, stable, canary, routing] = await Promise.all([
    cluster.getDeployment(namespace, app),
    cluster.getDeployment(namespace, workloadName(app, 'stable')),
    cluster.getDeployment(namespace, workloadName(app, 'canary')),
    router.inspect(plannedAdditions(spec)),
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
    if (routing.inSync) {
      observed.canaryWeight = routing.canaryWeight;
      observed.routeAdded = routing.added;
    }
    if (routing.host !== undefined) world.serviceHost = routing.host;
    if (spec.analysis.metricsProvider === 'istio-ambient') {
      // The Services callers address: a GAMMA route's parents, else the routed host's Service.
      const addressed = routing.parentServices ?? [(routing.host ?? app).split('.')[0]!];
      const reads = {
        getService: (ns: string, name: string) => cluster.getService(ns, name),
        getNamespace: (name: string) => cluster.getNamespace(name),
      };
      observed.problems.push(...(await waypointProblems(reads, namespace, addressed)));
    }
    // A step whose additions the route cannot take: said before the rollout starts, on the step, with the fix.
    for (const { step, message } of routing.refused ?? []) {
      const kind = stepKind(spec.steps[step]!);
      observed.problems.push({ path: `spec.steps[${step}]${kind === 'weight' ? '' : `.${kind}`}`, message });
    }
  } else if (routing.awaitingSubsets) {
    observed.awaitingRouting = routing.problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  } else {
    observed.problems.push(...routing.problems);
  }
  return world;
}

/** A host split's two Services: missing ones are created with the track Deployments; others must select a track. */
async function observeServices(
  cluster: ClusterAccess,
  rollout: RolloutObject,
  world: World,
  names: Record<Track, string>,
): Promise<void> {
  const namespace = rollout.metadata.namespace;
  const routing = (rollout.spec as { trafficRouting?: { gatewayAPI?: unknown } }).trafficRouting;
  const servicesPath = `spec.trafficRouting.${routing?.gatewayAPI ? 'gatewayAPI' : 'istio'}`;
  const app = (rollout.spec as { targetRef: { name: string } }).targetRef.name;
  const [stable, canary] = await Promise.all([
    cluster.getService(namespace, names.stable),
    cluster.getService(namespace, names.canary),
  ]);
  const missing: Track[] = [];
  for (const [track, service] of [
    ['stable', stable],
    ['canary', canary],
  ] as const) {
    if (service === undefined) {
      missing.push(track);
      continue;
    }
    const problem = ownedBy(service, rollout) ? undefined : trackServiceProblem(service, track);
    if (problem) {
      world.observed.problems.push({ path: `${servicesPath}.${track}Service`, message: problem });
    }
  }
  const appService = missing.length > 0 ? await cluster.getService(namespace, app) : undefined;
  world.services = { names, missing, ...(appService && { app: appService }) };
}
