import { retryOnConflict, type ConflictRetry } from './conflict-retry.js';
import { checkDestinationRule, checkRuleHost } from './destination-rule.js';
import { resolveHost } from './hosts.js';
import { isDeepStrictEqual } from 'node:util';
import { findAdditions, withAdditions, withoutAdditions } from './istio-additions.js';
import type { VirtualService } from './istio-objects.js';
import {
  checkWeight,
  findManagedRoutes,
  routesWithoutTracks,
  VS_PATH,
  weightPatch,
} from './managed-routes.js';
import {
  RoutingProblemsError,
  refusedSteps,
  type RouteState,
  type RoutingInspection,
  type TrafficRouter,
} from './router.js';
import { trackDestinations, type IstioSpec } from './track-destinations.js';

// Stepwise owns the two weights of the managed routes, and what a mirror or headerRoute step adds (istio-additions.ts).
// Everything else in the VirtualService and DestinationRule is the user's and is passed through untouched, including
// fields this code does not know.

export { checkDestinationRule, checkRuleHost } from './destination-rule.js';
export {
  findManagedRoutes,
  routesWithoutTracks,
  weightPatch,
  type IstioSpec,
  type ManagedRoute,
  type ManagedRoutes,
} from './managed-routes.js';
export type { DestinationRule, VirtualService } from './istio-objects.js';
export { hostSplitServices, trackDestinations, type TrackDestinations } from './track-destinations.js';

/** The Kubernetes calls the Istio router needs; get returns undefined on 404, patch throws `{code: 409}` on conflict. */
export interface IstioApi {
  getVirtualService(namespace: string, name: string): Promise<object | undefined>;
  getDestinationRule(namespace: string, name: string): Promise<object | undefined>;
  patchVirtualService(namespace: string, name: string, mergePatch: object): Promise<void>;
}

export interface IstioRouterOptions {
  api: IstioApi;
  namespace: string;
  istioSpec: IstioSpec;
  /**
   * targetRef.name: a host split without stableService/canaryService routes to `<target>-stable`/`-canary`, and
   * the header route added for a step is named after it.
   */
  target?: string;
  retry?: ConflictRetry;
  /** The mesh's domain suffix, which Istio appends to short host names (default cluster.local). */
  clusterDomain?: string;
}

export function createIstioRouter(options: IstioRouterOptions): TrafficRouter {
  const { api, namespace, istioSpec } = options;
  const vsName = istioSpec.virtualService.name;
  const tracks = trackDestinations(istioSpec, {
    target: options.target,
    namespace,
    clusterDomain: options.clusterDomain,
  });
  const dr = istioSpec.destinationRule;

  return {
    async inspect(planned = []): Promise<RoutingInspection> {
      // A host split has no DestinationRule to read: the two Services select the tracks.
      const [vs, rule] = await Promise.all([
        api.getVirtualService(namespace, vsName),
        dr === undefined ? undefined : api.getDestinationRule(namespace, dr.name),
      ]);
      // Stepwise's own additions are set aside first: they are never the user's problems.
      const bare = vs && withoutAdditions(vs, tracks, options.target);
      const managed = findManagedRoutes(bare, istioSpec, tracks);
      const drProblems = dr === undefined ? [] : checkDestinationRule(rule, dr);
      if (managed.ok && rule !== undefined && dr !== undefined) {
        for (const host of managed.hosts) {
          drProblems.push(...checkRuleHost(rule, host, dr, namespace, options.clusterDomain));
        }
      }
      const problems = [...(managed.ok ? [] : managed.problems), ...drProblems];
      if (!managed.ok && drProblems.length === 0 && routesWithoutTracks(vs, tracks)) {
        return { ok: false, problems, awaitingSubsets: true };
      }
      if (!managed.ok || problems.length > 0) return { ok: false, problems };
      // The service the callers address for the canary, as Istio's destination_service label spells it: the one
      // host of a subset split, the canary Service of a host split.
      const host = resolveHost(
        tracks.mode === 'host' ? tracks.names.canary : managed.hosts[0]!,
        namespace,
        options.clusterDomain,
      );
      const { consistent, ...added } = findAdditions(vs, tracks, options.target);
      const inSync = managed.inSync && consistent;
      const refused = refusedSteps(planned, (state) =>
        withAdditions(structuredClone(bare?.spec?.http ?? []), managed.routes, state, {
          vsName,
          owner: options.target,
          path: `${VS_PATH}.name`,
        }),
      );
      return {
        ok: true,
        canaryWeight: managed.canaryWeight,
        inSync,
        host,
        added,
        ...(refused.length > 0 && { refused }),
      };
    },

    async setRoute(state: RouteState): Promise<void> {
      checkWeight(state.weight);
      await retryOnConflict(async () => {
        const vs = await api.getVirtualService(namespace, vsName);
        // The route lists are rebuilt from the user's own routes: weights set, then this state's additions.
        const bare = vs && withoutAdditions(vs, tracks, options.target);
        const managed = findManagedRoutes(bare, istioSpec, tracks);
        if (!managed.ok) throw new RoutingProblemsError(managed.problems);
        if (vs === undefined || bare === undefined) return;
        const patch = weightPatch(bare, managed.routes, state.weight) as { spec: VirtualService['spec'] };
        const spec = patch.spec!;
        spec.http = withAdditions(spec.http ?? [], managed.routes, state, {
          vsName,
          owner: options.target,
          path: `${VS_PATH}.name`,
        });
        const read = (vs as VirtualService).spec ?? {};
        const kinds = Object.keys(spec) as (keyof typeof spec)[];
        if (kinds.every((kind) => isDeepStrictEqual(spec[kind], read[kind]))) return;
        await api.patchVirtualService(namespace, vsName, patch);
      }, options.retry);
    },
  };
}
