// The simulated mesh's GRPCRoute routing (GAMMA: parentRef a Service), as the spec says (sigs.k8s.io/gateway-api
// apis/v1 grpcroute_types.go, GRPCRouteRule.Matches and GRPCMethodMatch): a rule matches when any of its matches does
// (none: every request); a match names a service and/or a method, Exact (the default, case-sensitive) or
// RegularExpression, and headers, all ANDed. Of all rules' matches the first by precedence wins (most characters in
// the matching service, then in the method, then most header matches, then the rule listed first); then weights.
// A gRPC call is an HTTP/2 request to `/<service>/<method>` (grpc/grpc doc/PROTOCOL-HTTP2.md, Path).
import {
  byPrecedence,
  headerCondition,
  type GatewayRouteObject,
  type HeaderMatch,
  type OrderedMatch,
} from './httproute.js';
import type { RequestPredicate, SimulatedRequest } from './matching.js';

export interface GrpcRouteMatch {
  method?: { type?: 'Exact' | 'RegularExpression'; service?: string; method?: string };
  headers?: HeaderMatch[];
}

export type GatewayGrpcRoute = GatewayRouteObject<GrpcRouteMatch>;

/** The gRPC service and method a request calls, read from its path. */
export function grpcCall(request: SimulatedRequest): { service: string; method: string } {
  const [, service = '', method = ''] = (request.uri.split('?')[0] ?? '').split('/');
  return { service, method };
}

function nameCondition(type: 'Exact' | 'RegularExpression' | undefined, wanted: string | undefined) {
  if (wanted === undefined || wanted === '') return () => true;
  if (type === 'RegularExpression') {
    const pattern = new RegExp(`^(?:${wanted})$`);
    return (actual: string) => pattern.test(actual);
  }
  return (actual: string) => actual === wanted;
}

function compileGrpcMatch(match: GrpcRouteMatch): RequestPredicate {
  const service = nameCondition(match.method?.type, match.method?.service);
  const method = nameCondition(match.method?.type, match.method?.method);
  const headers = (match.headers ?? []).map(headerCondition);
  return (request) => {
    const call = grpcCall(request);
    return service(call.service) && method(call.method) && headers.every((h) => h(request));
  };
}

/** Sort key, larger first: characters in the service, in the method, header matches. */
function grpcPrecedence(match: GrpcRouteMatch): number[] {
  return [match.method?.service?.length ?? 0, match.method?.method?.length ?? 0, match.headers?.length ?? 0];
}

/** The GRPCRoute's matches in the order the spec grants them precedence (ties: the rule listed first). */
export function orderedGrpcMatches(route: GatewayGrpcRoute): OrderedMatch[] {
  return byPrecedence(route, {}, compileGrpcMatch, grpcPrecedence);
}
