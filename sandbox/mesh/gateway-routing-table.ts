import type { MeshConfig } from './config.js';
import {
  backendWeight,
  parentService,
  type GatewayRouteObject,
  type HttpRouteBackendRef,
  type OrderedMatch,
} from './httproute.js';
import { gatewayMirrors } from './mirror.js';
import {
  serviceRef,
  type CompiledRoute,
  type CompiledVirtualService,
  type Endpoint,
  type RouteDestination,
} from './routing-table.js';

/**
 * An HTTPRoute or GRPCRoute attached to a Service, compiled like a VirtualService: one route per rule match in
 * precedence order (`ordered`, the mesh takes the first that matches), each backendRef a destination whose pods are
 * those its Service selects. A backendRef to a Service that does not exist has no endpoints (the request fails, as
 * in a mesh).
 */
export function compileGatewayRoute<Match>(
  route: GatewayRouteObject<Match>,
  ordered: OrderedMatch[],
  config: MeshConfig,
  endpointsFor: (namespace: string, selector: Record<string, string>) => Endpoint[],
): CompiledVirtualService | undefined {
  const parent = parentService(route);
  if (!parent) return undefined;
  const namespace = route.metadata?.namespace ?? parent.namespace;
  const rules = route.spec?.rules ?? [];
  const backendDestination = (ref: HttpRouteBackendRef): RouteDestination => {
    const refNamespace = ref.namespace ?? namespace;
    const service = (config.services ?? []).find(
      (s) => s.metadata?.name === ref.name && (s.metadata?.namespace ?? namespace) === refNamespace,
    );
    const endpoints = service?.spec?.selector ? endpointsFor(refNamespace, service.spec.selector) : [];
    return {
      service: serviceRef(`${ref.name ?? ''}.${refNamespace}`, refNamespace),
      subset: undefined,
      weight: backendWeight(ref),
      subsetMissing: service === undefined,
      endpoints,
      totalReplicas: endpoints.reduce((sum, e) => sum + e.readyReplicas, 0),
    };
  };
  const destinationsOf = (rule: number): RouteDestination[] =>
    (rules[rule]?.backendRefs ?? []).map(backendDestination);
  const routes = ordered.map((match): CompiledRoute => {
    const destinations = destinationsOf(match.rule);
    return {
      index: match.rule,
      name: rules[match.rule]?.name,
      matches: match.matches,
      destinations,
      totalWeight: destinations.reduce((sum, d) => sum + d.weight, 0),
      fault: undefined,
      mirrors: gatewayMirrors(rules[match.rule]?.filters, backendDestination),
      weightsKey: JSON.stringify(destinations.map((d) => [d.service.fqdn, d.weight])),
    };
  });
  return {
    key: `${namespace}/${route.kind === 'GRPCRoute' ? 'grpcroute/' : ''}${route.metadata?.name ?? parent.name}`,
    namespace,
    service: serviceRef(parent.name, parent.namespace),
    routes,
  };
}
