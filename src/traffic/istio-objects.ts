// The parts of Istio's VirtualService and DestinationRule (networking.istio.io/v1) that Stepwise reads.
// Every other field is the user's and is passed through untouched, including fields this code does not know.

interface Destination {
  host?: string;
  subset?: string;
  [field: string]: unknown;
}

export interface RouteDestination {
  destination?: Destination;
  weight?: number;
  [field: string]: unknown;
}

/** One entry of `spec.http`, `spec.tls` or `spec.tcp`: all three carry `route` (tls and tcp have no name). */
export interface Route {
  name?: string;
  match?: { port?: number; sniHosts?: string[]; [field: string]: unknown }[];
  route?: RouteDestination[];
  delegate?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

export const ROUTE_KINDS = ['http', 'tls', 'tcp'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

interface IstioMetadata {
  name?: string;
  resourceVersion?: string;
  [field: string]: unknown;
}

export interface VirtualService {
  metadata?: IstioMetadata;
  spec?: { hosts?: string[]; http?: Route[]; tls?: Route[]; tcp?: Route[]; [field: string]: unknown };
  [field: string]: unknown;
}

export interface DestinationRule {
  metadata?: IstioMetadata;
  spec?: {
    host?: string;
    subsets?: { name?: string; labels?: Record<string, string> }[];
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export function routesOf(vs: VirtualService, kind: RouteKind): Route[] {
  const routes = vs.spec?.[kind];
  return Array.isArray(routes) ? routes : [];
}

export function destinations(route: Route | undefined): RouteDestination[] {
  return Array.isArray(route?.route) ? route.route : [];
}

/** `http[1] "primary"`, `tls[0] (port 443, sniHosts a.example.com)`: how a route is named in messages. */
export function describeRoute(kind: RouteKind, route: Route | undefined, index: number): string {
  if (kind === 'http') {
    return route?.name === undefined ? `http[${index}] (unnamed)` : `http[${index}] "${route.name}"`;
  }
  const match = Array.isArray(route?.match) ? route.match : [];
  const parts = match.flatMap((m) => [
    ...(m.port !== undefined ? [`port ${m.port}`] : []),
    ...(Array.isArray(m.sniHosts) ? [`sniHosts ${m.sniHosts.join(', ')}`] : []),
  ]);
  return parts.length > 0 ? `${kind}[${index}] (${parts.join('; ')})` : `${kind}[${index}]`;
}

export function describeDestination(d: RouteDestination): string {
  const host = d.destination?.host ?? '(no host)';
  return d.destination?.subset === undefined ? host : `${host} subset ${d.destination.subset}`;
}
