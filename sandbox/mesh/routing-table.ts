import type { BehaviourOf } from './behaviour.js';
import type { Deployment, DestinationRule, HttpFault, HttpRouteDestination, MeshConfig } from './config.js';
import { logNormalLatency, type LatencySampler } from './latency.js';
import { compileGatewayRoute } from './gateway-routing-table.js';
import { orderedGrpcMatches } from './grpcroute.js';
import { orderedMatches } from './httproute.js';
import { compileMatch, type RequestPredicate } from './matching.js';
import { istioMirrors, type CompiledMirror } from './mirror.js';
import type { Random } from './random.js';

/** A Kubernetes Service as Istio names it in metrics. */
export interface ServiceRef {
  name: string;
  namespace: string;
  /** `<name>.<namespace>.svc.cluster.local` */
  fqdn: string;
}

/** A ready Deployment that can serve a subset, with the behaviour of its image. */
export interface Endpoint {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  canonicalRevision: string;
  readyReplicas: number;
  errorRate: number;
  latency: LatencySampler;
}

export interface RouteDestination {
  service: ServiceRef;
  subset: string | undefined;
  weight: number;
  /** The subset is named by the route but defined by no DestinationRule (Envoy: no cluster). */
  subsetMissing: boolean;
  endpoints: Endpoint[];
  totalReplicas: number;
}

export interface CompiledFault {
  abort?: { httpStatus: number; share: number };
  delay?: { ms: number; share: number };
}

export interface CompiledRoute {
  index: number;
  name: string | undefined;
  matches: RequestPredicate;
  destinations: RouteDestination[];
  totalWeight: number;
  fault: CompiledFault | undefined;
  /** Where copies of the requests the route forwards go (their answers are dropped). */
  mirrors: CompiledMirror[];
  /** Canonical text of the weights, to notice when they change. */
  weightsKey: string;
}

export interface CompiledVirtualService {
  /** `<namespace>/<name>` */
  key: string;
  namespace: string;
  service: ServiceRef;
  routes: CompiledRoute[];
}

/** Turns the raw config into what one request needs, once per config change rather than per request. */
export function compileRoutingTable(
  config: MeshConfig,
  behaviourOf: BehaviourOf,
  random: Random,
  defaultNamespace: string,
): CompiledVirtualService[] {
  const behaviours = new Map<string, { errorRate: number; latency: LatencySampler }>();
  const behaviourFor = (image: string) => {
    let behaviour = behaviours.get(image);
    if (!behaviour) {
      const { errorRate, latencyMs } = behaviourOf(image);
      behaviour = { errorRate, latency: logNormalLatency(latencyMs, random) };
      behaviours.set(image, behaviour);
    }
    return behaviour;
  };

  const compiled: CompiledVirtualService[] = [];
  for (const virtualService of config.virtualServices) {
    const namespace = virtualService.metadata?.namespace ?? defaultNamespace;
    const firstHost = virtualService.spec?.hosts?.[0];
    if (!firstHost) continue;
    // A route's destination, or a mirror's: its Service and the ready pods its subset (or the Service) selects.
    const resolve = (target: HttpRouteDestination['destination'], weight: number): RouteDestination => {
      const service = serviceRef(target?.host ?? firstHost, namespace);
      const subset = target?.subset;
      const subsetLabels =
        subset === undefined ? {} : findSubsetLabels(config.destinationRules, service, subset);
      // A Service given in the config selects by its own selector (a host split's `<app>-stable`).
      const selector = (config.services ?? []).find(
        (s) =>
          s.metadata?.name === service.name && (s.metadata?.namespace ?? namespace) === service.namespace,
      )?.spec?.selector;
      const endpoints =
        subsetLabels === undefined
          ? []
          : selector
            ? endpointsSelectedBy(
                config.deployments,
                service.namespace,
                { ...selector, ...subsetLabels },
                defaultNamespace,
                behaviourFor,
              )
            : readyEndpoints(config.deployments, service, subsetLabels, defaultNamespace, behaviourFor);
      return {
        service,
        subset,
        weight,
        subsetMissing: subsetLabels === undefined,
        endpoints,
        totalReplicas: endpoints.reduce((sum, endpoint) => sum + endpoint.readyReplicas, 0),
      };
    };
    const routes = (virtualService.spec?.http ?? []).map((route, index): CompiledRoute => {
      const rawDestinations = route.route ?? [];
      const destinations = rawDestinations.map((entry) =>
        // Istio: a lone destination takes all traffic; otherwise an omitted weight is 0.
        resolve(
          entry.destination,
          rawDestinations.length === 1 && entry.weight === undefined ? 100 : Math.max(0, entry.weight ?? 0),
        ),
      );
      return {
        index,
        name: route.name,
        matches: compileMatch(route.match),
        destinations,
        totalWeight: destinations.reduce((sum, destination) => sum + destination.weight, 0),
        fault: compileFault(route.fault),
        mirrors: istioMirrors(route, (target) => resolve(target, 0)),
        weightsKey: JSON.stringify(destinations.map((d) => [d.service.fqdn, d.subset ?? null, d.weight])),
      };
    });
    compiled.push({
      key: `${namespace}/${virtualService.metadata?.name ?? firstHost}`,
      namespace,
      service: serviceRef(firstHost, namespace),
      routes,
    });
  }
  const endpointsFor = (namespace: string, selector: Record<string, string>) =>
    endpointsSelectedBy(config.deployments, namespace, selector, defaultNamespace, behaviourFor);
  for (const route of config.httpRoutes ?? []) {
    const table = compileGatewayRoute(route, orderedMatches(route), config, endpointsFor);
    if (table) compiled.push(table);
  }
  for (const route of config.grpcRoutes ?? []) {
    const table = compileGatewayRoute(route, orderedGrpcMatches(route), config, endpointsFor);
    if (table) compiled.push(table);
  }
  return compiled;
}

/** `reviews`, `reviews.prod`, `reviews.prod.svc` and the FQDN all name the same Service, as in Istio. */
export function serviceRef(host: string, namespace: string): ServiceRef {
  const parts = host.split('.');
  const name = parts[0] ?? host;
  const serviceNamespace = parts.length >= 2 && parts[1] ? parts[1] : namespace;
  return { name, namespace: serviceNamespace, fqdn: `${name}.${serviceNamespace}.svc.cluster.local` };
}

function findSubsetLabels(
  rules: DestinationRule[],
  service: ServiceRef,
  subset: string,
): Record<string, string> | undefined {
  for (const rule of rules) {
    const host = rule.spec?.host;
    if (!host) continue;
    const ruleNamespace = rule.metadata?.namespace ?? service.namespace;
    if (serviceRef(host, ruleNamespace).fqdn !== service.fqdn) continue;
    const found = rule.spec?.subsets?.find((candidate) => candidate.name === subset);
    if (found) return found.labels ?? {};
  }
  return undefined;
}

function readyEndpoints(
  deployments: Deployment[],
  service: ServiceRef,
  subsetLabels: Record<string, string>,
  defaultNamespace: string,
  behaviourFor: (image: string) => { errorRate: number; latency: LatencySampler },
): Endpoint[] {
  // The sandbox's Service `<app>` selects `app: <app>`; a subset narrows it by its labels.
  const selector = { ...subsetLabels, app: service.name };
  return endpointsSelectedBy(deployments, service.namespace, selector, defaultNamespace, behaviourFor);
}

/** Ready Deployments of `namespace` whose pod labels carry every label of `selector` (a Service's selector). */
export function endpointsSelectedBy(
  deployments: Deployment[],
  serviceNamespace: string,
  selector: Record<string, string>,
  defaultNamespace: string,
  behaviourFor: (image: string) => { errorRate: number; latency: LatencySampler },
): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const deployment of deployments) {
    const namespace = deployment.metadata?.namespace ?? defaultNamespace;
    const labels = deployment.spec?.template?.metadata?.labels ?? {};
    const readyReplicas = deployment.status?.readyReplicas ?? 0;
    if (namespace !== serviceNamespace || readyReplicas <= 0 || labels.app === undefined) continue;
    if (!Object.entries(selector).every(([key, value]) => labels[key] === value)) continue;
    const image = deployment.spec?.template?.spec?.containers?.[0]?.image ?? '';
    const version = labels.version ?? 'unknown';
    endpoints.push({
      workload: deployment.metadata?.name ?? 'unknown',
      namespace,
      app: labels.app,
      version,
      canonicalRevision: labels['service.istio.io/canonical-revision'] ?? labels.version ?? 'latest',
      readyReplicas,
      ...behaviourFor(image),
    });
  }
  return endpoints;
}

function compileFault(fault: HttpFault | undefined): CompiledFault | undefined {
  if (!fault) return undefined;
  const compiled: CompiledFault = {};
  // Istio: without `percentage`, the fault applies to every request.
  if (fault.abort?.httpStatus !== undefined) {
    compiled.abort = {
      httpStatus: fault.abort.httpStatus,
      share: (fault.abort.percentage?.value ?? 100) / 100,
    };
  }
  const delayMs = fault.delay?.fixedDelay === undefined ? undefined : parseDurationMs(fault.delay.fixedDelay);
  if (delayMs !== undefined) {
    compiled.delay = { ms: delayMs, share: (fault.delay?.percentage?.value ?? 100) / 100 };
  }
  return compiled;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseDurationMs(text: string): number | undefined {
  const parsed = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!parsed?.[1] || !parsed[2]) return undefined;
  return Number(parsed[1]) * (DURATION_UNITS_MS[parsed[2]] ?? 1);
}
