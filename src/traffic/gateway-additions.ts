import { isDeepStrictEqual } from 'node:util';
import type { RouteMatch } from '../api/schema.js';
import type { Track } from '../workload/labels.js';
import {
  backendRefsOf,
  rulesOf,
  type BackendRef,
  type GatewayRoute,
  type RouteRule,
} from './gateway-objects.js';
import { combinedMatches, headerRouteIdOf, headerRouteName } from './header-matches.js';
import type { ManagedRule } from './managed-rule.js';
import { RoutingProblemsError, type RouteAdditions, type RouteState } from './router.js';

// What a mirror or headerRoute step adds to an HTTPRoute or GRPCRoute, and nothing else (sigs.k8s.io/gateway-api
// apis/v1 httproute_types.go, grpcroute_types.go):
// - a mirror: a `RequestMirror` filter on the managed rule, its backendRef the canary Service and `percent` the
//   step's (HTTPRequestMirrorFilter.Percent, 0–100). A RequestMirror to the canary Service is Stepwise's; one of the
//   user's may stay beside it (HTTPRouteRule.Filters refuses repeats of other filter types only).
// - a header route: a rule named `stepwise-<target>-header-<id>` (HTTPRouteRule.Name, unique within the route) to the
//   canary Service alone, appended after the user's rules. Matching precedence goes to the match with the most
//   header matches, then to the first rule in list order: the added rule has the managed rule's matches plus at
//   least one header, so it wins over the managed rule, and being last it loses every tie to a rule of the user's.
//   A rule that rewrites or redirects a path prefix (`replacePrefixMatch`, in its filters or its backendRefs') must
//   have exactly one PathPrefix match (the HTTPRoute CRD's CEL rules): such a header route is one rule per match,
//   named `…-<id>`, `…-<id>-2`…, which routes the same, precedence being decided match by match.

/** A route holds at most 16 rules (HTTPRouteSpec.Rules and GRPCRouteSpec.Rules, +kubebuilder:validation:MaxItems=16). */
const MAX_RULES = 16;
/** A rule holds at most 64 matches (HTTPRouteRule.Matches, MaxItems=64). */
const MAX_MATCHES = 64;
/** A route holds at most 128 matches over all its rules (the CEL rule on HTTPRouteSpec.Rules and GRPCRouteSpec.Rules). */
const MAX_ROUTE_MATCHES = 128;
/** A match holds at most 16 header matches (HTTPRouteMatch.Headers, GRPCRouteMatch.Headers, MaxItems=16). */
const MAX_HEADERS = 16;
/** A header match's value is at most 4096 characters (HTTPHeaderMatch.Value, GRPCHeaderMatch.Value, MaxLength). */
const MAX_HEADER_VALUE = 4096;
/** A rule holds at most 16 filters (HTTPRouteRule.Filters, GRPCRouteRule.Filters, MaxItems=16). */
const MAX_FILTERS = 16;

interface Filter {
  type?: string;
  requestMirror?: { backendRef?: BackendRef; percent?: number; fraction?: unknown };
  [field: string]: unknown;
}

interface GatewayMatch {
  headers?: { name?: string; value?: string; type?: string }[];
  [field: string]: unknown;
}

interface Context {
  services: Record<Track, string>;
  namespace: string;
  owner: string | undefined;
}

function filtersOf(rule: RouteRule | undefined): Filter[] {
  return Array.isArray(rule?.filters) ? (rule.filters as Filter[]) : [];
}

function ownsMirror(filter: Filter, ctx: Context): boolean {
  const ref = filter.requestMirror?.backendRef;
  return (
    filter.type === 'RequestMirror' &&
    ref !== undefined &&
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace ?? ctx.namespace) === ctx.namespace &&
    ref.name === ctx.services.canary
  );
}

/** The route without Stepwise's additions: its header rules dropped, its RequestMirror to the canary removed. */
export function withoutAdditions(route: object, ctx: Context): GatewayRoute {
  const copy = structuredClone(route) as GatewayRoute;
  if (!Array.isArray(copy.spec?.rules)) return copy;
  copy.spec.rules = copy.spec.rules
    .filter((rule) => headerRouteIdOf(rule.name, ctx.owner) === undefined)
    .map((rule) => {
      const filters = filtersOf(rule);
      const kept = filters.filter((f) => !ownsMirror(f, ctx));
      if (kept.length === filters.length) return rule;
      const { filters: _filters, ...rest } = rule;
      return kept.length > 0 ? { ...rest, filters: kept } : rest;
    });
  return copy;
}

export function findAdditions(
  route: object | undefined,
  ctx: Context,
): RouteAdditions & { consistent: boolean } {
  const rules = route === undefined ? [] : rulesOf(route as GatewayRoute);
  const percents = rules.flatMap((rule) =>
    filtersOf(rule).flatMap((f) => (ownsMirror(f, ctx) ? [f.requestMirror?.percent ?? 100] : [])),
  );
  const ids = rules.flatMap((rule) => headerRouteIdOf(rule.name, ctx.owner) ?? []);
  const [mirrorPercent] = percents;
  const [headerRoute] = ids;
  return {
    ...(mirrorPercent !== undefined && { mirrorPercent }),
    ...(headerRoute !== undefined && { headerRoute }),
    consistent: percents.length <= 1 && new Set(ids).size <= 1,
  };
}

function gatewayHeaderMatch(
  user: GatewayMatch | undefined,
  conditions: { name: string; value: string; type: string }[],
): GatewayMatch | undefined {
  const headers = [...(user?.headers ?? [])];
  for (const { name, value, type } of conditions) {
    const same = headers.find((h) => h.name?.toLowerCase() === name);
    if (same !== undefined) {
      if (!isDeepStrictEqual({ ...same, type: same.type ?? 'Exact' }, { name: same.name, value, type }))
        return undefined;
      continue;
    }
    headers.push({ name, value, type });
  }
  return { ...(user ?? {}), headers };
}

function rewritesPathPrefix(filters: unknown): boolean {
  return (Array.isArray(filters) ? (filters as Filter[]) : []).some((f) =>
    [f.urlRewrite, f.requestRedirect].some(
      (action) => (action as { path?: { type?: string } } | undefined)?.path?.type === 'ReplacePrefixMatch',
    ),
  );
}

/** The header route's rules: one, or one per match where the managed rule rewrites a path prefix. */
function headerRules(
  managed: RouteRule,
  canary: BackendRef,
  matches: RouteMatch[],
  owner: string | undefined,
) {
  const settings: RouteRule = structuredClone(managed);
  for (const field of ['name', 'matches', 'backendRefs']) delete settings[field];
  const combined = combinedMatches(
    managed.matches as GatewayMatch[] | undefined,
    matches,
    gatewayHeaderMatch,
  );
  // The only backendRef gets every matching request at any weight. Written as 1, the value the API server gives an
  // unset weight (HTTPBackendRef and GRPCBackendRef default), so the stored rule reads back as the one written.
  const ref: BackendRef = { ...structuredClone(canary), weight: 1 };
  const onePerMatch = rewritesPathPrefix(managed.filters) || rewritesPathPrefix(ref.filters);
  const groups = onePerMatch ? combined.map((match) => [match]) : [combined];
  return groups.map((group, nth): RouteRule => ({
    name: headerRouteName(owner, matches, nth),
    matches: group,
    backendRefs: [structuredClone(ref)],
    ...structuredClone(settings),
  }));
}

const matchCount = (rules: RouteRule[]) =>
  rules.reduce((sum, rule) => sum + (Array.isArray(rule.matches) ? rule.matches.length : 0), 0);

/** Why the header route does not fit in the route (Gateway API's limits), or undefined. */
function roomProblem(rules: RouteRule[], added: RouteRule[]): string | undefined {
  const matches = matchCount(added);
  if (rules.length >= MAX_RULES) {
    return `has ${rules.length} rules, the most Gateway API allows; a headerRoute step adds one: merge two of yours`;
  }
  if (rules.length + added.length > MAX_RULES) {
    return `has ${rules.length} rules, and a headerRoute step adds ${added.length}, one per match, as the managed rule's path prefix rewrite requires (at most ${MAX_RULES} rules): use fewer matches in the step, or merge rules of yours`;
  }
  if (added.some((rule) => (rule.matches as unknown[]).length > MAX_MATCHES)) {
    return `would need ${matches} matches in the added rule (at most ${MAX_MATCHES}): use fewer matches in the managed rule or the step`;
  }
  if (matchCount(rules) + matches > MAX_ROUTE_MATCHES) {
    return `has ${matchCount(rules)} matches over its rules, and a headerRoute step adds ${matches} (at most ${MAX_ROUTE_MATCHES} in a route): use fewer matches in your rules or the step`;
  }
  const headers = added.flatMap((rule) => (rule.matches as GatewayMatch[]).map((m) => m.headers ?? []));
  const most = Math.max(...headers.map((h) => h.length));
  if (most > MAX_HEADERS) {
    return `would need ${most} header matches in one match of the added rule, the managed rule's and the step's together (at most ${MAX_HEADERS}; cookies count as one): use fewer headers in the step`;
  }
  const longest = Math.max(...headers.flat().map((h) => h.value?.length ?? 0));
  if (longest > MAX_HEADER_VALUE) {
    return `would need a header match value of ${longest} characters in the added rule (at most ${MAX_HEADER_VALUE}; the cookies of a match are one regular expression trying each order): match fewer or shorter cookies`;
  }
  return undefined;
}

/**
 * The rules of a route without additions (`rules`, weights already set), with the additions `state` asks for.
 * Throws when the route has no room for the header rule.
 */
export function withAdditions(
  rules: RouteRule[],
  managed: ManagedRule,
  state: RouteState,
  ctx: Context & { where: string; path: string },
): RouteRule[] {
  const refusal = (problem: string) =>
    new RoutingProblemsError([{ path: ctx.path, message: `${ctx.where} ${problem}` }]);
  const out = structuredClone(rules);
  const rule = out[managed.rule]!;
  const canary = backendRefsOf(rule)[managed.canary]!;
  if (state.mirrorPercent !== undefined) {
    const { weight: _weight, filters: _filters, ...backendRef } = structuredClone(canary);
    const mirror: Filter = {
      type: 'RequestMirror',
      requestMirror: { backendRef, percent: state.mirrorPercent },
    };
    if (filtersOf(rule).length >= MAX_FILTERS) {
      const problem = `has ${filtersOf(rule).length} filters on the managed rule, the most Gateway API allows; a mirror step adds a RequestMirror: remove one of yours, or the mirror step`;
      throw refusal(problem);
    }
    rule.filters = [...filtersOf(rule), mirror];
  }
  if (state.headerMatches) {
    const added = headerRules(rules[managed.rule]!, canary, state.headerMatches, ctx.owner).filter(
      (r) => (r.matches as unknown[]).length > 0,
    );
    const problem = roomProblem(out, added);
    if (problem) throw refusal(problem);
    out.push(...added);
  }
  return out;
}
