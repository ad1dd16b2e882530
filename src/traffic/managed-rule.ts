import type { RolloutSpec } from '../api/schema.js';
import type { Track } from '../workload/labels.js';
import {
  backendRefsOf,
  DEFAULT_BACKEND_WEIGHT,
  describeBackendRef,
  describeRule,
  rulesOf,
  type BackendRef,
  type GatewayRoute,
  type GatewayRouteKind,
} from './gateway-objects.js';
import type { Problem } from './router.js';

export type GatewayApiSpec = NonNullable<RolloutSpec['trafficRouting']['gatewayAPI']>;

export const GATEWAY_PATH = 'spec.trafficRouting.gatewayAPI';

/** The route a Rollout names: its kind, name, managed rule name, and the field it is written in. */
export interface RouteChoice {
  kind: GatewayRouteKind;
  name: string;
  rule?: string;
  path: string;
}

export function routeChoice(spec: GatewayApiSpec): RouteChoice {
  if (spec.httpRoute) return { kind: 'HTTPRoute', ...spec.httpRoute, path: `${GATEWAY_PATH}.httpRoute` };
  if (spec.grpcRoute) return { kind: 'GRPCRoute', ...spec.grpcRoute, path: `${GATEWAY_PATH}.grpcRoute` };
  throw new TypeError('gatewayAPI names neither httpRoute nor grpcRoute (validation refuses that)');
}

/** The managed rule `spec.rules[rule]` and the indexes of its two backendRefs. */
export interface ManagedRule {
  rule: number;
  stable: number;
  canary: number;
}

export type ManagedRuleResult =
  | { ok: true; managed: ManagedRule; canaryWeight: number; inSync: boolean }
  | { ok: false; problems: Problem[] };

interface Context {
  choice: RouteChoice;
  services: Record<Track, string>;
  namespace: string;
}

/** A backendRef to the track's Service: core group, kind Service (the defaults), in the route's namespace. */
function isTrack(ref: BackendRef, track: Track, ctx: Context): boolean {
  return (
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace ?? ctx.namespace) === ctx.namespace &&
    ref.name === ctx.services[track]
  );
}

function indexesOf(refs: BackendRef[], track: Track, ctx: Context): number[] {
  return refs.flatMap((ref, i) => (isTrack(ref, track, ctx) ? [i] : []));
}

function example(ctx: Context): string {
  return (
    `backendRefs: [{name: ${ctx.services.stable}, port: <port>, weight: 100}, ` +
    `{name: ${ctx.services.canary}, port: <port>, weight: 0}]`
  );
}

function pickRule(route: GatewayRoute, ctx: Context): { index?: number; problems: Problem[] } {
  const { choice } = ctx;
  const rules = rulesOf(route);
  const where = `${choice.kind} ${choice.name}`;
  if (choice.rule !== undefined) {
    const index = rules.findIndex((r) => r.name === choice.rule);
    if (index >= 0) return { index, problems: [] };
    const names = rules.flatMap((r) => (r.name === undefined ? [] : [`"${r.name}"`]));
    return {
      problems: [
        {
          path: `${choice.path}.rule`,
          message:
            `${where} has no rule named "${choice.rule}" (named rules: ${names.join(', ') || 'none'}); name a rule ` +
            `that exists, or add name: ${choice.rule} to the weighted rule`,
        },
      ],
    };
  }
  const candidates = rules.flatMap((r, i) =>
    indexesOf(backendRefsOf(r), 'stable', ctx).length > 0 &&
    indexesOf(backendRefsOf(r), 'canary', ctx).length > 0
      ? [i]
      : [],
  );
  const [only] = candidates;
  if (only !== undefined && candidates.length === 1) return { index: only, problems: [] };
  const message =
    candidates.length > 1
      ? `${where} has ${candidates.length} rules with backendRefs to both ${ctx.services.stable} and ` +
        `${ctx.services.canary} (${candidates.map((i) => describeRule(rules[i], i)).join(', ')}); say which ` +
        `Stepwise manages in rule: (give the rule a name first)`
      : `${where} has no rule with backendRefs to both Service ${ctx.services.stable} and Service ` +
        `${ctx.services.canary}; add a rule with ${example(ctx)}, or set stableService/canaryService to the ` +
        `Services your rule uses`;
  return { problems: [{ path: `${choice.path}.name`, message }] };
}

/**
 * Finds the rule whose two weights Stepwise moves (the one named in `rule`, else the one rule with backendRefs to
 * both Services) and checks that it sends to exactly those two: a third backend would keep a share of the
 * traffic whatever the step. Other rules (header matches pinning testers to the canary) are the user's.
 */
export function findManagedRule(
  route: object | undefined,
  choice: RouteChoice,
  services: Record<Track, string>,
  namespace: string,
): ManagedRuleResult {
  const ctx: Context = { choice, services, namespace };
  if (route === undefined) {
    return {
      ok: false,
      problems: [
        {
          path: `${choice.path}.name`,
          message:
            `${choice.kind} ${choice.name} was not found in the Rollout's namespace; create it with a rule ` +
            `whose ${example(ctx)}, or fix the name`,
        },
      ],
    };
  }
  const read = route as GatewayRoute;
  const picked = pickRule(read, ctx);
  if (picked.index === undefined) return { ok: false, problems: picked.problems };
  const rule = rulesOf(read)[picked.index];
  const refs = backendRefsOf(rule);
  const where = `${choice.kind} ${choice.name} ${describeRule(rule, picked.index)}`;
  const path = `${choice.path}.${choice.rule === undefined ? 'name' : 'rule'}`;
  const problems: Problem[] = [];
  const found = { stable: indexesOf(refs, 'stable', ctx), canary: indexesOf(refs, 'canary', ctx) };
  for (const track of ['stable', 'canary'] as const) {
    const indexes = found[track];
    if (indexes.length === 0) {
      problems.push({
        path,
        message: `${where} has no backendRef to Service ${services[track]}; add {name: ${services[track]}, port: <port>, weight: ${track === 'stable' ? 100 : 0}} to its backendRefs`,
      });
    } else if (indexes.length > 1) {
      problems.push({
        path,
        message: `${where} lists Service ${services[track]} ${indexes.length} times; Stepwise gives each track one weight, so keep one backendRef to it`,
      });
    }
  }
  const others = refs.filter((_, i) => !found.stable.includes(i) && !found.canary.includes(i));
  if (others.length > 0) {
    problems.push({
      path,
      message:
        `${where} also sends traffic to ${others.map(describeBackendRef).join(', ')}; Stepwise splits the managed ` +
        `rule between ${services.stable} and ${services.canary} only: move the others to a rule of their own (with a match)`,
    });
  }
  const [stable] = found.stable;
  const [canary] = found.canary;
  if (problems.length > 0 || stable === undefined || canary === undefined) return { ok: false, problems };
  const stableWeight = refs[stable]?.weight;
  const canaryWeight = refs[canary]?.weight;
  // Each backend gets weight / sum (unset = 1): 1 and 1 is an even split, not 0% canary.
  const shares = [stableWeight ?? DEFAULT_BACKEND_WEIGHT, canaryWeight ?? DEFAULT_BACKEND_WEIGHT];
  const total = shares[0]! + shares[1]!;
  const percent = total === 0 ? 0 : Math.round((100 * shares[1]!) / total);
  const inSync =
    stableWeight !== undefined && canaryWeight !== undefined && stableWeight + canaryWeight === 100;
  return { ok: true, managed: { rule: picked.index, stable, canary }, canaryWeight: percent, inSync };
}

export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'test';
  path: string;
  value: unknown;
}

/**
 * JSON patch (RFC 6902) setting the managed rule's two weights, and nothing else: merge patch would have to send the
 * whole `rules` list. `test` ops pin the two backendRefs to the indexes read, and the resourceVersion read makes the
 * API server answer 409 when the route changed since (optimistic concurrency on the patched object).
 */
export function weightOperations(
  route: object,
  managed: ManagedRule,
  services: Record<Track, string>,
  canaryWeight: number,
): JsonPatchOperation[] {
  const refsPath = `/spec/rules/${managed.rule}/backendRefs`;
  const resourceVersion = (route as GatewayRoute).metadata?.resourceVersion;
  return [
    ...(resourceVersion !== undefined
      ? [{ op: 'replace' as const, path: '/metadata/resourceVersion', value: resourceVersion }]
      : []),
    { op: 'test', path: `${refsPath}/${managed.stable}/name`, value: services.stable },
    { op: 'test', path: `${refsPath}/${managed.canary}/name`, value: services.canary },
    { op: 'add', path: `${refsPath}/${managed.stable}/weight`, value: 100 - canaryWeight },
    { op: 'add', path: `${refsPath}/${managed.canary}/weight`, value: canaryWeight },
  ];
}
