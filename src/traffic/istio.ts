import pRetry from 'p-retry';
import { checkDestinationRule, checkRuleHost } from './destination-rule.js';
import { resolveHost } from './hosts.js';
import {
  checkWeight,
  findManagedRoutes,
  routesWithoutSubsets,
  weightPatch,
  type IstioSpec,
} from './managed-routes.js';
import { RoutingProblemsError, type RoutingInspection, type TrafficRouter } from './router.js';

// Stepwise owns only the two weights of the managed routes. Everything else in the VirtualService and
// DestinationRule is the user's and is passed through untouched, including fields this code does not know.

export { checkDestinationRule, checkRuleHost } from './destination-rule.js';
export {
  findManagedRoutes,
  routesWithoutSubsets,
  weightPatch,
  type IstioSpec,
  type ManagedRoute,
  type ManagedRoutes,
} from './managed-routes.js';
export type { DestinationRule, VirtualService } from './istio-objects.js';

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
  /** Conflict retries; defaults suit a real API server (4 retries from 50 ms, doubling, jittered). */
  retry?: { retries?: number; minTimeout?: number };
  /** The mesh's domain suffix, which Istio appends to short host names (default cluster.local). */
  clusterDomain?: string;
}

function isConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 409;
}

export function createIstioRouter(options: IstioRouterOptions): TrafficRouter {
  const { api, namespace, istioSpec } = options;
  const vsName = istioSpec.virtualService.name;

  return {
    async inspect(): Promise<RoutingInspection> {
      const [vs, dr] = await Promise.all([
        api.getVirtualService(namespace, vsName),
        api.getDestinationRule(namespace, istioSpec.destinationRule.name),
      ]);
      const managed = findManagedRoutes(vs, istioSpec);
      const drProblems = checkDestinationRule(dr, istioSpec);
      if (managed.ok && dr !== undefined) {
        for (const host of managed.hosts) {
          drProblems.push(...checkRuleHost(dr, host, istioSpec, namespace, options.clusterDomain));
        }
      }
      const problems = [...(managed.ok ? [] : managed.problems), ...drProblems];
      if (!managed.ok && drProblems.length === 0 && routesWithoutSubsets(vs)) {
        return { ok: false, problems, awaitingSubsets: true };
      }
      if (!managed.ok || problems.length > 0) return { ok: false, problems };
      // The service the callers address, as Istio's destination_service label spells it.
      const host = resolveHost(managed.hosts[0]!, namespace, options.clusterDomain);
      return { ok: true, canaryWeight: managed.canaryWeight, inSync: managed.inSync, host };
    },

    async setCanaryWeight(weight: number): Promise<void> {
      checkWeight(weight);
      // Each attempt re-reads, so a retry after 409 carries the other writer's change along.
      await pRetry(
        async () => {
          const vs = await api.getVirtualService(namespace, vsName);
          const managed = findManagedRoutes(vs, istioSpec);
          if (!managed.ok) throw new RoutingProblemsError(managed.problems);
          if (vs === undefined || (managed.inSync && managed.canaryWeight === weight)) return;
          await api.patchVirtualService(namespace, vsName, weightPatch(vs, managed.routes, weight));
        },
        {
          retries: options.retry?.retries ?? 4,
          minTimeout: options.retry?.minTimeout ?? 50,
          randomize: true,
          shouldRetry: ({ error }) => isConflict(error),
        },
      );
    },
  };
}
