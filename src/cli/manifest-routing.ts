// `stepwise validate` checks each valid Rollout against the routing objects in the files given, with the controller's
// own observation (observeWorld: the router's inspection of the VirtualService and DestinationRule or the HTTPRoute or
// GRPCRoute, and the host split's Services), read from the files instead of the cluster. Only where a problem is
// printed is decided here: at the routing object's field when the files hold it, else at the Rollout's.
import type { RolloutSpec } from '../api/schema.js';
import type { Problem } from '../api/validate.js';
import { observeWorld } from '../controller/observe.js';
import type { RolloutObject } from '../kube/cluster.js';
import { WAYPOINT_PROBLEM_PATH } from '../traffic/ambient-waypoint.js';
import { hostSplitServices } from '../traffic/track-destinations.js';
import { ManifestCluster } from './manifest-cluster.js';
import type { ManifestObject } from './manifest-problems.js';

export interface RoutingReport {
  /** `file:line: path: message`, one per problem. */
  problems: string[];
  /** `file:line: path: …` for what could not be checked offline (an object not in the files), or is waited for. */
  notes: string[];
  /** The objects some Rollout's check read. */
  used: Set<ManifestObject>;
}

const ISTIO = 'spec.trafficRouting.istio';
const GATEWAY = 'spec.trafficRouting.gatewayAPI';

/** The routing kinds the routers read (by plural, as ClusterAccess names them), and the Rollout field naming each. */
const ROUTING_OBJECTS: Record<string, { kind: string; group: string; field: string }> = {
  virtualservices: {
    kind: 'VirtualService',
    group: 'networking.istio.io',
    field: `${ISTIO}.virtualService.name`,
  },
  destinationrules: {
    kind: 'DestinationRule',
    group: 'networking.istio.io',
    field: `${ISTIO}.destinationRule.name`,
  },
  httproutes: { kind: 'HTTPRoute', group: 'gateway.networking.k8s.io', field: `${GATEWAY}.httpRoute.name` },
  grpcroutes: { kind: 'GRPCRoute', group: 'gateway.networking.k8s.io', field: `${GATEWAY}.grpcRoute.name` },
};

interface Place {
  object: ManifestObject;
  path: string;
}

const indexNamed = (list: unknown, name: string | undefined): number =>
  Array.isArray(list) && name !== undefined
    ? list.findIndex((item) => (item as { name?: unknown })?.name === name)
    : -1;

const itemPath = (list: string, index: number, field = '') =>
  index >= 0 ? `${list}[${index}]${field}` : list;

function specOf(object: ManifestObject | undefined): Record<string, unknown> {
  return (object?.value.spec ?? {}) as Record<string, unknown>;
}

/** The field of a routing object in the files that a problem is about: what the user edits to fix it. */
function placeInRoutingObject(
  problem: Problem,
  spec: RolloutSpec,
  cluster: ManifestCluster,
  namespace: string,
): Place | undefined {
  const { istio, gatewayAPI } = spec.trafficRouting;
  const at = (prefix: string) => problem.path === prefix || problem.path.startsWith(`${prefix}.`);
  const split = gatewayAPI ?? (istio?.destinationRule === undefined ? istio : undefined);
  const trackField = /\.(stable|canary)Service$/.exec(problem.path);
  if (split && trackField) {
    const name = hostSplitServices(split, spec.targetRef.name)[trackField[1] as 'stable' | 'canary'];
    const service = cluster.find('Service', namespace, name);
    return service && { object: service, path: 'spec.selector' };
  }
  if (istio) {
    const { virtualService, destinationRule } = istio;
    const dr =
      destinationRule &&
      cluster.find('destinationrules', namespace, destinationRule.name, 'networking.istio.io');
    if (dr && destinationRule && at(`${ISTIO}.destinationRule`)) {
      const track = /\.(stable|canary)Subset$/.exec(problem.path)?.[1] as 'stable' | 'canary' | undefined;
      if (track === undefined) return { object: dr, path: 'spec.host' };
      const subset = indexNamed(specOf(dr).subsets, destinationRule[`${track}Subset`]);
      return { object: dr, path: itemPath('spec.subsets', subset, '.labels') };
    }
    const vs = cluster.find('virtualservices', namespace, virtualService.name, 'networking.istio.io');
    if (!vs || !at(`${ISTIO}.virtualService`)) return undefined;
    const kind = /\.(tls|tcp)Routes/.exec(problem.path)?.[1] ?? 'http';
    const named = /\.routes\[(\d+)\]$/.exec(problem.path)?.[1];
    const route = named === undefined ? undefined : virtualService.routes?.[Number(named)];
    return { object: vs, path: itemPath(`spec.${kind}`, indexNamed(specOf(vs).http, route)) };
  }
  if (gatewayAPI) {
    const [plural, choice] = gatewayAPI.httpRoute
      ? ['httproutes', gatewayAPI.httpRoute]
      : ['grpcroutes', gatewayAPI.grpcRoute];
    const route = choice && cluster.find(plural, namespace, choice.name, 'gateway.networking.k8s.io');
    if (!route || !at(GATEWAY)) return undefined;
    return { object: route, path: itemPath('spec.rules', indexNamed(specOf(route).rules, choice.rule)) };
  }
  return undefined;
}

/** The routing problems of one Rollout, and what was not checked. */
async function checkRollout(
  rollout: ManifestObject,
  spec: RolloutSpec,
  objects: ManifestObject[],
  defaultNamespace: string,
): Promise<RoutingReport> {
  const metadata = (rollout.value.metadata ?? {}) as RolloutObject['metadata'];
  const namespace = metadata.namespace ?? defaultNamespace;
  const cluster = new ManifestCluster(objects, defaultNamespace);
  const object: RolloutObject = {
    apiVersion: String(rollout.value.apiVersion),
    kind: String(rollout.value.kind),
    metadata: { ...metadata, namespace },
    spec,
  };
  const world = await observeWorld(cluster, object, spec, []);
  const atRollout = (path: string) => `${rollout.lineOf(path)}: ${rollout.pathOf(path)}`;
  const report: RoutingReport = { problems: [], notes: [], used: cluster.used };
  const unread = new Set<string>();
  for (const missing of cluster.missing) {
    const routing = ROUTING_OBJECTS[missing.kind];
    if (!routing || unread.has(routing.field)) continue;
    unread.add(routing.field);
    report.notes.push(
      `${atRollout(routing.field)}: ${routing.kind} ${missing.name} (namespace ${missing.namespace}) is not in ` +
        `the files given, so the Rollout was not checked against it`,
    );
  }
  for (const track of world.services?.missing ?? []) {
    const name = world.services!.names[track];
    const field = `${spec.trafficRouting.gatewayAPI ? GATEWAY : ISTIO}.${track}Service`;
    report.notes.push(
      `${atRollout(field)}: Service ${name} (namespace ${namespace}) is not in the files given: not checked ` +
        `(Stepwise creates it if the cluster has none)`,
    );
  }
  const placed = (problem: Problem) => {
    const place = placeInRoutingObject(problem, spec, cluster, namespace);
    const where = place
      ? `${place.object.lineOf(place.path)}: ${place.object.pathOf(place.path)}`
      : atRollout(problem.path);
    // A message that shows YAML to paste goes on under its file:line, indented, so each problem starts one line.
    return `${where}: ${problem.message.replaceAll('\n', '\n    ')}`;
  };
  for (const problem of world.observed.problems) {
    // "Not found" is about the cluster, not the files: that object was not checked, as said above.
    if (unread.has(problem.path)) continue;
    // The files hold no Service status (Istio's istio.io/WaypointBound) and, often, no Namespace with its label.
    if (problem.path === WAYPOINT_PROBLEM_PATH) {
      report.notes.push(
        `${placed(problem)} (unless the cluster binds it to a waypoint by its namespace's label)`,
      );
    } else report.problems.push(placed(problem));
  }
  // Routes to neither track are how a running service is adopted: the controller waits, it does not fail.
  const routing = world.observed.awaitingRouting === undefined ? undefined : await world.router?.inspect();
  for (const problem of routing && !routing.ok ? routing.problems : []) {
    report.notes.push(
      `${placed(problem)} (until a route sends to the tracks, Stepwise prepares ${spec.targetRef.name}-stable ` +
        `and waits: AwaitingRouting)`,
    );
  }
  return report;
}

/** Every valid Rollout among `objects` checked against the routing objects among them. */
export async function routingProblems(
  objects: ManifestObject[],
  defaultNamespace: string,
): Promise<RoutingReport> {
  const report: RoutingReport = { problems: [], notes: [], used: new Set() };
  for (const rollout of objects) {
    if (rollout.rolloutSpec === undefined) continue;
    const found = await checkRollout(rollout, rollout.rolloutSpec, objects, defaultNamespace);
    report.problems.push(...found.problems);
    report.notes.push(...found.notes);
    for (const object of found.used) report.used.add(object);
  }
  return report;
}
