import { isDeepStrictEqual } from 'node:util';
import { retryOnConflict, type ConflictRetry } from './conflict-retry.js';
import { findAdditions, withAdditions, withoutAdditions } from './gateway-additions.js';
import { rulesOf, type GatewayRoute, type GatewayRouteKind, type RouteRule } from './gateway-objects.js';
import { resolveHost } from './hosts.js';
import { checkWeight } from './managed-routes.js';
import {
  findManagedRule,
  routeChoice,
  weightOperations,
  type GatewayApiSpec,
  type JsonPatchOperation,
  type ManagedRule,
} from './managed-rule.js';
import {
  RoutingProblemsError,
  refusedSteps,
  type RouteState,
  type RoutingInspection,
  type TrafficRouter,
} from './router.js';
import { hostSplitServices } from './track-destinations.js';

// Stepwise owns the two weights of the managed rule of an HTTPRoute or GRPCRoute, and what a mirror or headerRoute
// step adds (gateway-additions.ts). The parentRefs (a Gateway, or a Service for GAMMA east-west routing: Istio ambient
// with a waypoint, Linkerd, Cilium), the other rules, the matches and filters are the user's and are never changed.

export type { GatewayApiSpec } from './managed-rule.js';

/** The Kubernetes calls the Gateway API router needs; get returns undefined on 404, patch throws `{code: 409}`. */
export interface GatewayApi {
  getRoute(kind: GatewayRouteKind, namespace: string, name: string): Promise<object | undefined>;
  patchRoute(
    kind: GatewayRouteKind,
    namespace: string,
    name: string,
    operations: JsonPatchOperation[],
  ): Promise<void>;
}

export interface GatewayRouterOptions {
  api: GatewayApi;
  namespace: string;
  gatewaySpec: GatewayApiSpec;
  /** targetRef.name: without stableService/canaryService the backends are `<target>-stable` / `<target>-canary`. */
  target?: string;
  retry?: ConflictRetry;
}

/** The route's parentRefs that are Services of its own namespace (GAMMA east-west routing). */
function serviceParents(route: GatewayRoute, namespace: string): string[] {
  const parents = Array.isArray(route.spec?.parentRefs) ? (route.spec.parentRefs as ParentRef[]) : [];
  return parents
    .filter(
      (ref) =>
        ref.kind === 'Service' && (ref.group ?? '') === '' && (ref.namespace ?? namespace) === namespace,
    )
    .flatMap((ref) => (typeof ref.name === 'string' ? [ref.name] : []));
}

interface ParentRef {
  group?: string;
  kind?: string;
  name?: unknown;
  namespace?: string;
}

export function createGatewayRouter(options: GatewayRouterOptions): TrafficRouter {
  const { api, namespace, gatewaySpec } = options;
  const choice = routeChoice(gatewaySpec);
  const services = hostSplitServices(gatewaySpec, options.target);
  const ctx = { services, namespace, owner: options.target };
  // Stepwise's own additions are set aside first: they are never the user's problems.
  const read = async () => {
    const route = await api.getRoute(choice.kind, namespace, choice.name);
    const bare = route && withoutAdditions(route, ctx);
    return { route, bare, managed: findManagedRule(bare, choice, services, namespace) };
  };

  /**
   * The API server applies the ops in order, so a route edited since it was read can fail a `test` op (422) before
   * its resourceVersion is compared (409). Either way the edit is the cause: retry on a fresh read.
   */
  const asConflictIfChanged = async (error: unknown, read: object): Promise<unknown> => {
    if ((error as { code?: unknown })?.code !== 422) return error;
    const now = (await api.getRoute(choice.kind, namespace, choice.name)) as GatewayRoute | undefined;
    const changed = now?.metadata?.resourceVersion !== (read as GatewayRoute).metadata?.resourceVersion;
    return changed
      ? Object.assign(new Error(`${choice.kind} ${choice.name} changed while patched`), { code: 409 })
      : error;
  };

  return {
    async inspect(planned = []): Promise<RoutingInspection> {
      const { route, bare, managed } = await read();
      if (!managed.ok) return { ok: false, problems: managed.problems };
      const where = { ...ctx, where: `${choice.kind} ${choice.name}`, path: `${choice.path}.name` };
      const refused = refusedSteps(planned, (state) =>
        withAdditions(rulesOf(bare!), managed.managed, state, where),
      );
      // The canary backend Service, as Istio's destination_service label spells it, for its callers' 503s.
      const host = resolveHost(services.canary, namespace);
      const parentServices = serviceParents(route as GatewayRoute, namespace);
      const { consistent, ...added } = findAdditions(route, ctx);
      return {
        ok: true,
        canaryWeight: managed.canaryWeight,
        inSync: managed.inSync && consistent,
        host,
        added,
        ...(parentServices.length > 0 && { parentServices }),
        ...(refused.length > 0 && { refused }),
      };
    },

    async setRoute(state: RouteState): Promise<void> {
      checkWeight(state.weight);
      await retryOnConflict(async () => {
        const { route, bare, managed } = await read();
        if (!managed.ok) throw new RoutingProblemsError(managed.problems);
        if (route === undefined || bare === undefined) return;
        const refs = rulesOf(bare)[managed.managed.rule]!.backendRefs!;
        refs[managed.managed.stable]!.weight = 100 - state.weight;
        refs[managed.managed.canary]!.weight = state.weight;
        const rules = withAdditions(rulesOf(bare), managed.managed, state, {
          ...ctx,
          where: `${choice.kind} ${choice.name}`,
          path: `${choice.path}.name`,
        });
        const before = rulesOf(route as GatewayRoute);
        if (isDeepStrictEqual(rules, before)) return;
        // Only the weights move: the two-weight patch. Anything added or removed: the rules whole, pinned to the
        // resourceVersion read, so that a concurrent edit fails with 409 instead of being overwritten.
        const operations = isDeepStrictEqual(
          withoutWeights(rules, managed.managed),
          withoutWeights(before, managed.managed),
        )
          ? weightOperations(route, managed.managed, services, state.weight)
          : rulesOperations(route, rules);
        try {
          await api.patchRoute(choice.kind, namespace, choice.name, operations);
        } catch (error) {
          throw await asConflictIfChanged(error, route);
        }
      }, options.retry);
    },
  };
}

/** The rules without the managed rule's two weights: what a weight-only change leaves as it was. */
function withoutWeights(rules: RouteRule[], managed: ManagedRule): RouteRule[] {
  const copy = structuredClone(rules);
  const refs = copy[managed.rule]?.backendRefs ?? [];
  for (const index of [managed.stable, managed.canary]) delete refs[index]?.weight;
  return copy;
}

function rulesOperations(route: object, rules: RouteRule[]): JsonPatchOperation[] {
  const resourceVersion = (route as GatewayRoute).metadata?.resourceVersion;
  return [
    ...(resourceVersion !== undefined
      ? [{ op: 'replace' as const, path: '/metadata/resourceVersion', value: resourceVersion }]
      : []),
    { op: 'replace', path: '/spec/rules', value: rules },
  ];
}
