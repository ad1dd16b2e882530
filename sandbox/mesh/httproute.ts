// The simulated mesh's Gateway API routing (GAMMA: an HTTPRoute whose parentRef is a Service), as the spec says
// (sigs.k8s.io/gateway-api apis/v1 httproute_types.go, HTTPRouteRule.Matches): of all rules' matches, the first
// that matches by precedence wins (Exact path; then the longest Prefix; a method; the most header matches; the
// most query param matches; then the rule listed first), and then the rule's backendRefs share the requests by
// weight / sum of weights, an unset weight being 1 (BackendRef.Weight). No match: 404.
import type { ObjectMeta } from './config.js';
import type { RequestPredicate, SimulatedRequest } from './matching.js';

export interface HttpRouteMatch {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  headers?: HeaderMatch[];
  queryParams?: unknown[];
  method?: string;
}

export interface HttpRouteBackendRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  weight?: number;
}

/** A rule's filter; the mesh acts on RequestMirror only (HTTPRequestMirrorFilter). */
export interface HttpRouteFilter {
  type?: string;
  requestMirror?: {
    backendRef?: HttpRouteBackendRef;
    percent?: number;
    fraction?: { numerator?: number; denominator?: number };
  };
}

/** What HTTPRoute and GRPCRoute share: parentRefs, and rules of matches (their own kind), filters and backendRefs. */
export interface GatewayRouteObject<Match> {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    parentRefs?: { group?: string; kind?: string; name?: string; namespace?: string }[];
    rules?: {
      name?: string;
      matches?: Match[];
      filters?: HttpRouteFilter[];
      backendRefs?: HttpRouteBackendRef[];
    }[];
  };
}

export type GatewayHttpRoute = GatewayRouteObject<HttpRouteMatch>;

export interface KubernetesService {
  metadata?: ObjectMeta;
  spec?: { selector?: Record<string, string> };
}

/** One rule's match, compiled, with what orders it among the route's matches. */
export interface OrderedMatch {
  rule: number;
  matches: RequestPredicate;
  precedence: number[];
}

const DEFAULT_MATCH: HttpRouteMatch = { path: { type: 'PathPrefix', value: '/' } };

function pathOnly(uri: string): string {
  return uri.split('?')[0] ?? uri;
}

/** Gateway API PathPrefix: element-wise prefix (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`). */
function prefixMatches(prefix: string, path: string): boolean {
  const trimmed = prefix.endsWith('/') && prefix !== '/' ? prefix.slice(0, -1) : prefix;
  return trimmed === '/' || path === trimmed || path.startsWith(`${trimmed}/`);
}

export type HeaderMatch = { type?: 'Exact' | 'RegularExpression'; name: string; value: string };

/** A header match of HTTPRoute and GRPCRoute alike: the header is present and its value matches. */
export function headerCondition(header: HeaderMatch): RequestPredicate {
  const name = header.name.toLowerCase();
  const wanted =
    header.type === 'RegularExpression'
      ? (v: string) => new RegExp(`^${header.value}$`).test(v)
      : (v: string) => v === header.value;
  return (r) => r.headers[name] !== undefined && wanted(r.headers[name]!);
}

function compileMatch(match: HttpRouteMatch): RequestPredicate {
  const conditions: RequestPredicate[] = [];
  const path = match.path ?? DEFAULT_MATCH.path!;
  const value = path.value ?? '/';
  if (path.type === 'Exact') conditions.push((r) => pathOnly(r.uri) === value);
  else if (path.type === 'RegularExpression')
    conditions.push((r) => new RegExp(`^${value}$`).test(pathOnly(r.uri)));
  else conditions.push((r) => prefixMatches(value, pathOnly(r.uri)));
  if (match.method !== undefined) conditions.push((r) => r.method === match.method);
  conditions.push(...(match.headers ?? []).map(headerCondition));
  // Simulated requests carry no query string.
  if ((match.queryParams ?? []).length > 0) conditions.push(() => false);
  return (request: SimulatedRequest) => conditions.every((c) => c(request));
}

/** Sort key, larger first: exact path, prefix length, method, header count, query param count. */
function precedenceOf(match: HttpRouteMatch): number[] {
  const path = match.path ?? DEFAULT_MATCH.path!;
  return [
    path.type === 'Exact' ? 1 : 0,
    path.type === 'PathPrefix' || path.type === undefined ? (path.value ?? '/').length : 0,
    match.method !== undefined ? 1 : 0,
    (match.headers ?? []).length,
    (match.queryParams ?? []).length,
  ];
}

/** The route's matches in the order the spec grants them precedence (ties: the rule listed first). */
export function orderedMatches(route: GatewayHttpRoute): OrderedMatch[] {
  return byPrecedence(route, DEFAULT_MATCH, compileMatch, precedenceOf);
}

/**
 * Every match of every rule (a rule without matches: `whenNone`), compiled and sorted by precedence, larger first,
 * then by the rule's place in the list.
 */
export function byPrecedence<Match>(
  route: GatewayRouteObject<Match>,
  whenNone: Match,
  compile: (match: Match) => RequestPredicate,
  precedence: (match: Match) => number[],
): OrderedMatch[] {
  const all = (route.spec?.rules ?? []).flatMap((rule, index) =>
    (rule.matches?.length ? rule.matches : [whenNone]).map((match) => ({
      rule: index,
      matches: compile(match),
      precedence: precedence(match),
    })),
  );
  return all.sort((a, b) => {
    for (let i = 0; i < a.precedence.length; i++) {
      const d = (b.precedence[i] ?? 0) - (a.precedence[i] ?? 0);
      if (d !== 0) return d;
    }
    return a.rule - b.rule;
  });
}

/** The weight of a backendRef as the spec reads it: unset is 1, negative is not allowed (read as 0). */
export function backendWeight(ref: HttpRouteBackendRef): number {
  return Math.max(0, ref.weight ?? 1);
}

/** The Service a route is attached to (GAMMA): its first parentRef of kind Service, in the route's namespace. */
export function parentService<Match>(
  route: GatewayRouteObject<Match>,
): { name: string; namespace: string } | undefined {
  const namespace = route.metadata?.namespace ?? 'default';
  const parent = route.spec?.parentRefs?.find((p) => p.kind === 'Service' && (p.group ?? '') === '');
  return parent?.name === undefined
    ? undefined
    : { name: parent.name, namespace: parent.namespace ?? namespace };
}
