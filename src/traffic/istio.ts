import pRetry from 'p-retry';
import type { RolloutSpec } from '../api/schema.js';
import { TRACK_LABEL, type Track } from '../workload/labels.js';
import { RoutingProblemsError, type Problem, type RoutingInspection, type TrafficRouter } from './router.js';

// Stepwise owns only the two weights of the managed routes. Everything else in the VirtualService and
// DestinationRule is the user's and is passed through untouched, including fields this code does not know.

export type IstioSpec = RolloutSpec['trafficRouting']['istio'];

const VS_PATH = 'spec.trafficRouting.istio.virtualService';
const DR_PATH = 'spec.trafficRouting.istio.destinationRule';

interface Destination {
  host?: string;
  subset?: string;
  [field: string]: unknown;
}

interface RouteDestination {
  destination?: Destination;
  weight?: number;
  [field: string]: unknown;
}

interface HttpRoute {
  name?: string;
  route?: RouteDestination[];
  [field: string]: unknown;
}

interface IstioMetadata {
  name?: string;
  resourceVersion?: string;
  [field: string]: unknown;
}

/** The VirtualService fields Stepwise reads (networking.istio.io/v1). */
export interface VirtualService {
  metadata?: IstioMetadata;
  spec?: { http?: HttpRoute[]; [field: string]: unknown };
  [field: string]: unknown;
}

/** The DestinationRule fields Stepwise reads (networking.istio.io/v1). */
export interface DestinationRule {
  metadata?: IstioMetadata;
  spec?: { subsets?: { name?: string; labels?: Record<string, string> }[]; [field: string]: unknown };
  [field: string]: unknown;
}

/** A managed route: its index in `spec.http`, and the indexes of its two destinations in its `route`. */
export interface ManagedRoute {
  http: number;
  stable: number;
  canary: number;
}

export type ManagedRoutes =
  | {
      ok: true;
      routes: ManagedRoute[];
      /** Canary weight of the first managed route. */
      canaryWeight: number;
      /** Every managed route has exactly canaryWeight on canary and 100 − canaryWeight on stable. */
      inSync: boolean;
    }
  | { ok: false; problems: Problem[] };

function httpRoutes(vs: VirtualService): HttpRoute[] {
  const http = vs.spec?.http;
  return Array.isArray(http) ? http : [];
}

function destinations(route: HttpRoute | undefined): RouteDestination[] {
  return Array.isArray(route?.route) ? route.route : [];
}

function describeRoute(route: HttpRoute | undefined, index: number): string {
  return route?.name === undefined ? `http[${index}] (unnamed)` : `http[${index}] "${route.name}"`;
}

function describeDestination(d: RouteDestination): string {
  const host = d.destination?.host ?? '(no host)';
  return d.destination?.subset === undefined ? host : `${host} subset ${d.destination.subset}`;
}

function indexesWithSubset(route: HttpRoute | undefined, subset: string): number[] {
  return destinations(route).flatMap((d, i) => (d.destination?.subset === subset ? [i] : []));
}

function exampleDestination(host: string | undefined, subset: string, weight: number): string {
  return `{destination: {host: ${host ?? '<service>'}, subset: ${subset}}, weight: ${weight}}`;
}

/** Checks that one route splits traffic between exactly the stable and the canary destination. */
function checkManagedRoute(
  vsName: string,
  http: HttpRoute[],
  index: number,
  istio: IstioSpec,
  path: string,
): { route?: ManagedRoute; problems: Problem[] } {
  const { stableSubset, canarySubset } = istio.destinationRule;
  const route = http[index];
  const where = `VirtualService ${vsName} ${describeRoute(route, index)}`;
  const all = destinations(route);
  const stable = indexesWithSubset(route, stableSubset);
  const canary = indexesWithSubset(route, canarySubset);
  const host = all[stable[0] ?? canary[0] ?? -1]?.destination?.host;
  const problems: Problem[] = [];
  for (const [subset, found, weight] of [
    [stableSubset, stable, 100],
    [canarySubset, canary, 0],
  ] as const) {
    if (found.length === 0) {
      problems.push({
        path,
        message: `${where} has no destination with subset ${subset}; add ${exampleDestination(host, subset, weight)} to its route`,
      });
    } else if (found.length > 1) {
      problems.push({
        path,
        message: `${where} has ${found.length} destinations with subset ${subset}; keep exactly one`,
      });
    }
  }
  const others = all.filter((_, i) => !stable.includes(i) && !canary.includes(i));
  if (others.length > 0) {
    problems.push({
      path,
      message:
        `${where} also routes to ${others.map(describeDestination).join(', ')}; a managed route may only have ` +
        `the ${stableSubset} and ${canarySubset} destinations: move the others to a route of their own`,
    });
  }
  const stableIndex = stable[0];
  const canaryIndex = canary[0];
  if (problems.length > 0 || stableIndex === undefined || canaryIndex === undefined) return { problems };
  const stableHost = all[stableIndex]?.destination?.host;
  const canaryHost = all[canaryIndex]?.destination?.host;
  if (stableHost !== canaryHost) {
    return {
      problems: [
        {
          path,
          message: `${where} sends subset ${stableSubset} to host ${stableHost} but subset ${canarySubset} to host ${canaryHost}; use the same host for both`,
        },
      ],
    };
  }
  return { route: { http: index, stable: stableIndex, canary: canaryIndex }, problems };
}

/**
 * Finds the routes whose weights Stepwise moves: the routes named in `virtualService.routes`, or else the
 * one route with destinations to both subsets. Routes that only point at one subset (such as a header
 * match pinning testers to the canary) are the user's and are not managed.
 */
export function findManagedRoutes(vs: object | undefined, istio: IstioSpec): ManagedRoutes {
  const vsName = istio.virtualService.name;
  if (vs === undefined) {
    return {
      ok: false,
      problems: [
        {
          path: `${VS_PATH}.name`,
          message: `VirtualService ${vsName} was not found in the Rollout's namespace; create it with an http route split between subsets ${istio.destinationRule.stableSubset} and ${istio.destinationRule.canarySubset}, or fix the name`,
        },
      ],
    };
  }
  const http = httpRoutes(vs as VirtualService);
  const { stableSubset, canarySubset } = istio.destinationRule;
  const problems: Problem[] = [];
  const routes: ManagedRoute[] = [];
  const named = istio.virtualService.routes;
  if (named !== undefined) {
    named.forEach((name, j) => {
      const path = `${VS_PATH}.routes[${j}]`;
      const index = http.findIndex((r) => r.name === name);
      if (index < 0) {
        const existing = http.flatMap((r) => (r.name === undefined ? [] : [`"${r.name}"`]));
        problems.push({
          path,
          message:
            `VirtualService ${vsName} has no http route named "${name}" ` +
            `(named routes: ${existing.length > 0 ? existing.join(', ') : 'none'}); ` +
            `list a route that exists, or add name: ${name} to the weighted route`,
        });
        return;
      }
      if (routes.some((r) => r.http === index)) return;
      const checked = checkManagedRoute(vsName, http, index, istio, path);
      problems.push(...checked.problems);
      if (checked.route) routes.push(checked.route);
    });
  } else {
    const candidates = http.flatMap((route, i) =>
      indexesWithSubset(route, stableSubset).length > 0 && indexesWithSubset(route, canarySubset).length > 0
        ? [i]
        : [],
    );
    const [only] = candidates;
    if (candidates.length === 0) {
      problems.push({
        path: `${VS_PATH}.routes`,
        message:
          `VirtualService ${vsName} has no http route with destinations to both subset ${stableSubset} and subset ${canarySubset}; ` +
          `add a weighted route such as route: [${exampleDestination(undefined, stableSubset, 100)}, ${exampleDestination(undefined, canarySubset, 0)}], ` +
          `or set destinationRule.stableSubset/canarySubset to the subsets your route uses`,
      });
    } else if (candidates.length > 1 || only === undefined) {
      const listed = candidates.map((i) => describeRoute(http[i], i)).join(', ');
      const names = candidates.map((i) => http[i]?.name ?? `<name of http[${i}]>`);
      problems.push({
        path: `${VS_PATH}.routes`,
        message:
          `VirtualService ${vsName} has ${candidates.length} http routes to both subsets (${listed}); ` +
          `say which Stepwise manages, e.g. routes: [${names.join(', ')}] (give unnamed routes a name first)`,
      });
    } else {
      const checked = checkManagedRoute(vsName, http, only, istio, `${VS_PATH}.name`);
      problems.push(...checked.problems);
      if (checked.route) routes.push(checked.route);
    }
  }
  const [first] = routes;
  if (problems.length > 0 || first === undefined) return { ok: false, problems };
  const weights = routes.map((r) => ({
    stable: destinations(http[r.http])[r.stable]?.weight,
    canary: destinations(http[r.http])[r.canary]?.weight,
  }));
  // A destination without a weight gets none of the traffic when the route has several (Istio's default 0).
  const canaryWeight = weights[0]?.canary ?? 0;
  const inSync = weights.every((w) => w.canary === canaryWeight && w.stable === 100 - canaryWeight);
  return { ok: true, routes, canaryWeight, inSync };
}

/** True when no destination of the VirtualService names a subset: its routing predates the track subsets. */
export function routesWithoutSubsets(vs: object | undefined): boolean {
  if (vs === undefined) return false;
  const http = httpRoutes(vs as VirtualService);
  return (
    http.length > 0 &&
    http.every((route) => destinations(route).every((d) => d.destination?.subset === undefined))
  );
}

function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`canary weight must be a whole number from 0 to 100; got ${weight}`);
  }
}

/**
 * JSON merge patch (RFC 7386) setting the managed routes to `canaryWeight` (stable gets the rest).
 * Merge patch replaces arrays whole, so it carries all of `spec.http` as read, only the weights changed,
 * and the resourceVersion read, so that a concurrent edit fails with 409 instead of being overwritten.
 */
export function weightPatch(vs: object, routes: ManagedRoute[], canaryWeight: number): object {
  checkWeight(canaryWeight);
  const read = vs as VirtualService;
  const http = structuredClone(httpRoutes(read));
  for (const managed of routes) {
    const route = destinations(http[managed.http]);
    const stable = route[managed.stable];
    const canary = route[managed.canary];
    if (stable === undefined || canary === undefined) {
      throw new RangeError(
        `weightPatch: http[${managed.http}] has no destinations ${managed.stable} and ${managed.canary}`,
      );
    }
    stable.weight = 100 - canaryWeight;
    canary.weight = canaryWeight;
  }
  const resourceVersion = read.metadata?.resourceVersion;
  return {
    ...(resourceVersion !== undefined && { metadata: { resourceVersion } }),
    spec: { http },
  };
}

/** Checks that both subsets exist and select the pods of their track by Stepwise's track label. */
export function checkDestinationRule(dr: object | undefined, istio: IstioSpec): Problem[] {
  const { name, stableSubset, canarySubset } = istio.destinationRule;
  const wanted = (subset: string, track: Track) => `- name: ${subset}\n  labels: {${TRACK_LABEL}: ${track}}`;
  if (dr === undefined) {
    return [
      {
        path: `${DR_PATH}.name`,
        message:
          `DestinationRule ${name} was not found in the Rollout's namespace; create it with the subsets\n` +
          `${wanted(stableSubset, 'stable')}\n${wanted(canarySubset, 'canary')}\nor fix the name`,
      },
    ];
  }
  if (stableSubset === canarySubset) {
    return [
      {
        path: `${DR_PATH}.canarySubset`,
        message: `canarySubset and stableSubset are both "${canarySubset}"; the canary needs a subset of its own, e.g. canary`,
      },
    ];
  }
  const spec = (dr as DestinationRule).spec;
  const subsets = Array.isArray(spec?.subsets) ? spec.subsets : [];
  const problems: Problem[] = [];
  for (const [field, subset, track] of [
    ['stableSubset', stableSubset, 'stable'],
    ['canarySubset', canarySubset, 'canary'],
  ] as const) {
    const found = subsets.find((s) => s.name === subset);
    if (found === undefined) {
      problems.push({
        path: `${DR_PATH}.${field}`,
        message: `DestinationRule ${name} has no subset "${subset}"; add to its subsets:\n${wanted(subset, track)}`,
      });
    } else if (found.labels?.[TRACK_LABEL] !== track) {
      const labels = Object.entries(found.labels ?? {})
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      problems.push({
        path: `${DR_PATH}.${field}`,
        message:
          `DestinationRule ${name} subset "${subset}" selects {${labels}}, but Stepwise labels the ${track} pods ` +
          `${TRACK_LABEL}: ${track}; set the subset's labels to {${TRACK_LABEL}: ${track}}`,
      });
    }
  }
  return problems;
}

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
      const problems = [...(managed.ok ? [] : managed.problems), ...drProblems];
      if (!managed.ok && drProblems.length === 0 && routesWithoutSubsets(vs)) {
        return { ok: false, problems, awaitingSubsets: true };
      }
      if (!managed.ok || problems.length > 0) return { ok: false, problems };
      const host = (dr as DestinationRule | undefined)?.spec?.host;
      return {
        ok: true,
        canaryWeight: managed.canaryWeight,
        inSync: managed.inSync,
        ...(typeof host === 'string' ? { host } : {}),
      };
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
