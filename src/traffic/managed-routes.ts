import type { Track } from '../workload/labels.js';
import type { Problem } from './router.js';
import {
  describeDestination,
  describeRoute,
  destinations,
  routesOf,
  type Route,
  type RouteDestination,
  type RouteKind,
  type VirtualService,
} from './istio-objects.js';
import { trackDestinations, type IstioSpec, type TrackDestinations } from './track-destinations.js';

export type { IstioSpec } from './track-destinations.js';

export const VS_PATH = 'spec.trafficRouting.istio.virtualService';

/** A managed route: `spec.<kind>[index]`, and the indexes of its two destinations in its `route`. */
export interface ManagedRoute {
  kind: RouteKind;
  index: number;
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
      /** The hosts the managed routes send to, as written (one per route kind or spelling). */
      hosts: string[];
    }
  | { ok: false; problems: Problem[] };

interface Context {
  vsName: string;
  tracks: TrackDestinations;
}

function indexesOf(route: Route | undefined, ctx: Context, track: Track): number[] {
  return destinations(route).flatMap((d, i) => (ctx.tracks.isTrack(d, track) ? [i] : []));
}

function splitsBothTracks(route: Route | undefined, ctx: Context): boolean {
  return indexesOf(route, ctx, 'stable').length > 0 && indexesOf(route, ctx, 'canary').length > 0;
}

/** Distinct hosts of a route whose destinations name no subset: a split between two Services. */
function hostSplit(route: Route | undefined): string[] | undefined {
  const all = destinations(route);
  if (all.length < 2 || all.some((d) => d.destination?.subset !== undefined)) return undefined;
  const hosts = [...new Set(all.map((d) => d.destination?.host ?? '(no host)'))];
  return hosts.length > 1 ? hosts : undefined;
}

function splitExample(host: string | undefined, ctx: Context): string {
  const { tracks } = ctx;
  const route = `route: [${tracks.example(host, 'stable', 100)}, ${tracks.example(host, 'canary', 0)}]`;
  return tracks.mode === 'subset' ? `${route} with a DestinationRule for that host` : route;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function hostSplitMessage(where: string, hosts: string[], ctx: Context): string {
  const [stable, canary] = hosts;
  const hostSplit =
    hosts.length === 2
      ? `remove destinationRule and set stableService: ${stable} and canaryService: ${canary}`
      : 'route to two Services only and name them in stableService and canaryService';
  return (
    `${where} splits traffic between hosts ${listed(hosts)}, but the Rollout names a DestinationRule, so Stepwise ` +
    `expects a split of one host between the ${ctx.tracks.both}: for a host split, ${hostSplit} ` +
    `(Services selecting the track label); for a subset split, write ${splitExample(undefined, ctx)}, ` +
    `<service> being one Service that selects the pods of both tracks`
  );
}

function delegateMessage(where: string, route: Route): string {
  const target = `${route.delegate?.namespace ?? "the root's namespace"}/${route.delegate?.name ?? '(no name)'}`;
  return (
    `${where} delegates to VirtualService ${target}; Stepwise sets the weights where the destinations are: ` +
    `set virtualService.name to the delegate VirtualService (a Rollout manages routes in its own namespace)`
  );
}

/** Checks that one route splits traffic between exactly the stable and the canary destination of one host. */
function checkManagedRoute(
  ctx: Context,
  kind: RouteKind,
  routes: Route[],
  index: number,
  path: string,
): { route?: ManagedRoute; problems: Problem[] } {
  const { tracks } = ctx;
  const route = routes[index];
  const where = `VirtualService ${ctx.vsName} ${describeRoute(kind, route, index)}`;
  if (route?.delegate !== undefined) return { problems: [{ path, message: delegateMessage(where, route) }] };
  const split = tracks.mode === 'subset' ? hostSplit(route) : undefined;
  if (split) return { problems: [{ path, message: hostSplitMessage(where, split, ctx) }] };
  const all = destinations(route);
  const stable = indexesOf(route, ctx, 'stable');
  const canary = indexesOf(route, ctx, 'canary');
  const host = all[stable[0] ?? canary[0] ?? -1]?.destination?.host;
  const problems: Problem[] = [];
  for (const [track, found, weight] of [
    ['stable', stable, 100],
    ['canary', canary, 0],
  ] as const) {
    const named = tracks.describe(track);
    if (found.length === 0) {
      problems.push({
        path,
        message: `${where} has no destination with ${named}; add ${tracks.example(host, track, weight)} to its route`,
      });
    } else if (found.length > 1) {
      const listedDestinations = found.map((i) => describeDestination(all[i] ?? {}));
      problems.push({
        path,
        message:
          `${where} names ${named} ${found.length} times (${listed(listedDestinations)}); Stepwise gives each ` +
          `track one weight, so keep one destination with ${named} and move the others to a route of their own`,
      });
    }
  }
  const others = all.filter((_, i) => !stable.includes(i) && !canary.includes(i));
  if (others.length > 0) {
    problems.push({
      path,
      message:
        `${where} also sends traffic to ${listed(others.map(describeDestination))}; Stepwise splits a managed ` +
        `route between ${tracks.names.stable} and ${tracks.names.canary} only: move the others to a route of their own (with a match)`,
    });
  }
  const stableIndex = stable[0];
  const canaryIndex = canary[0];
  if (problems.length > 0 || stableIndex === undefined || canaryIndex === undefined) return { problems };
  const stableHost = all[stableIndex]?.destination?.host;
  const canaryHost = all[canaryIndex]?.destination?.host;
  if (tracks.mode === 'subset' && stableHost !== canaryHost) {
    return {
      problems: [
        {
          path,
          message: `${where} sends ${tracks.describe('stable')} to host ${stableHost} but ${tracks.describe('canary')} to host ${canaryHost}; use the same host for both`,
        },
      ],
    };
  }
  return { route: { kind, index, stable: stableIndex, canary: canaryIndex }, problems };
}

interface Found {
  routes: ManagedRoute[];
  problems: Problem[];
}

/** The http routes named in `routes`, or else the one http route split between both subsets. */
function findHttpRoutes(vs: VirtualService, istio: IstioSpec, ctx: Context): Found {
  const http = routesOf(vs, 'http');
  const found: Found = { routes: [], problems: [] };
  const add = (index: number, path: string) => {
    if (found.routes.some((r) => r.index === index)) return;
    const checked = checkManagedRoute(ctx, 'http', http, index, path);
    found.problems.push(...checked.problems);
    if (checked.route) found.routes.push(checked.route);
  };
  const named = istio.virtualService.routes;
  if (named !== undefined) {
    named.forEach((name, j) => {
      const path = `${VS_PATH}.routes[${j}]`;
      const indexes = http.flatMap((r, i) => (r.name === name ? [i] : []));
      const [index] = indexes;
      if (indexes.length > 1) {
        // Only one of them would move: the others would keep their weights while it shifts.
        found.problems.push({
          path,
          message:
            `VirtualService ${ctx.vsName} has ${indexes.length} http routes named "${name}" ` +
            `(${indexes.map((i) => `http[${i}]`).join(', ')}); give each route a name of its own`,
        });
        return;
      }
      if (index !== undefined) return add(index, path);
      const existing = http.flatMap((r) => (r.name === undefined ? [] : [`"${r.name}"`]));
      found.problems.push({
        path,
        message:
          `VirtualService ${ctx.vsName} has no http route named "${name}" ` +
          `(named routes: ${existing.length > 0 ? existing.join(', ') : 'none'}); ` +
          `list a route that exists, or add name: ${name} to the weighted route`,
      });
    });
    return found;
  }
  const candidates = http.flatMap((route, i) => (splitsBothTracks(route, ctx) ? [i] : []));
  const [only] = candidates;
  const path = `${VS_PATH}.routes`;
  if (only !== undefined && candidates.length === 1) {
    add(only, `${VS_PATH}.name`);
  } else if (candidates.length > 1) {
    const listed = candidates.map((i) => describeRoute('http', http[i], i)).join(', ');
    const names = candidates.map((i) => http[i]?.name ?? `<name of http[${i}]>`);
    found.problems.push({
      path,
      message:
        `VirtualService ${ctx.vsName} has ${candidates.length} http routes to both subsets (${listed}); ` +
        `say which Stepwise manages, e.g. routes: [${names.join(', ')}] (give unnamed routes a name first)`,
    });
  } else {
    found.problems.push({ path, message: noWeightedRoute(vs, ctx) });
  }
  return found;
}

/** Why no http route qualifies, naming what the VirtualService has instead. */
function noWeightedRoute(vs: VirtualService, ctx: Context): string {
  const http = routesOf(vs, 'http');
  const prefix = `VirtualService ${ctx.vsName}`;
  const delegating = http.findIndex((r) => r.delegate !== undefined);
  const delegate = http[delegating];
  if (delegate) return delegateMessage(`${prefix} ${describeRoute('http', delegate, delegating)}`, delegate);
  const splitAt = ctx.tracks.mode === 'subset' ? http.findIndex((r) => hostSplit(r) !== undefined) : -1;
  const split = hostSplit(http[splitAt]);
  if (split)
    return hostSplitMessage(`${prefix} ${describeRoute('http', http[splitAt], splitAt)}`, split, ctx);
  const l4 = (['tls', 'tcp'] as const).flatMap((kind) =>
    routesOf(vs, kind).flatMap((r, i) => (destinations(r).length > 0 ? [describeRoute(kind, r, i)] : [])),
  );
  if (http.length === 0 && l4.length > 0) {
    return (
      `${prefix} has no http routes, only ${l4.join(', ')}; Stepwise judges a canary by Istio's HTTP request ` +
      `metrics, which TLS and TCP traffic do not produce, so it moves tls and tcp routes only together with a ` +
      `weighted http route (spec.trafficRouting.istio.virtualService.tlsRoutes / tcpRoutes)`
    );
  }
  return (
    `${prefix} has no http route with destinations to both ${ctx.tracks.describe('stable')} and ` +
    `${ctx.tracks.describe('canary')}; add a weighted route such as ${splitExample(undefined, ctx)}, ` +
    `or set ${ctx.tracks.fields} your route uses`
  );
}

/** Does the tls/tcp route have a match with the selector's port and all its SNI hosts? */
function selects(selector: { port?: number; sniHosts?: string[] }, route: Route): boolean {
  const match = Array.isArray(route.match) ? route.match : [];
  return match.some(
    (m) =>
      (selector.port === undefined || m.port === selector.port) &&
      (selector.sniHosts ?? []).every((h) => Array.isArray(m.sniHosts) && m.sniHosts.includes(h)),
  );
}

function selectorText(kind: 'tls' | 'tcp', route: Route): string {
  const match = (Array.isArray(route.match) ? route.match : [])[0];
  const fields = [
    ...(match?.port !== undefined ? [`port: ${match.port}`] : []),
    ...(kind === 'tls' && Array.isArray(match?.sniHosts) ? [`sniHosts: [${match.sniHosts.join(', ')}]`] : []),
  ];
  return `{${fields.join(', ')}}`;
}

/**
 * The tls and tcp routes listed in the Rollout (Istio's TLSRoute and TCPRoute have no name, so they are picked
 * by their match, as Argo Rollouts' tlsRoutes/tcpRoutes do). A route split between the two subsets that is not
 * listed would stay at its weights while http moves: that is refused rather than left behind silently.
 */
function findL4Routes(vs: VirtualService, istio: IstioSpec, ctx: Context): Found {
  const found: Found = { routes: [], problems: [] };
  for (const kind of ['tls', 'tcp'] as const) {
    const routes = routesOf(vs, kind);
    const field = `${kind}Routes` as const;
    const selectors: { port?: number; sniHosts?: string[] }[] = istio.virtualService[field] ?? [];
    selectors.forEach((selector, j) => {
      const path = `${VS_PATH}.${field}[${j}]`;
      const matching = routes.flatMap((r, i) => (selects(selector, r) ? [i] : []));
      const [index] = matching;
      if (index === undefined || matching.length > 1) {
        const known = routes.map((r, i) => describeRoute(kind, r, i)).join(', ') || 'none';
        found.problems.push({
          path,
          message:
            `${JSON.stringify(selector)} matches ${matching.length} ${kind} routes of VirtualService ${ctx.vsName} ` +
            `(${kind} routes: ${known}); give the port and sniHosts of exactly one`,
        });
        return;
      }
      if (found.routes.some((r) => r.kind === kind && r.index === index)) return;
      const checked = checkManagedRoute(ctx, kind, routes, index, path);
      found.problems.push(...checked.problems);
      if (checked.route) found.routes.push(checked.route);
    });
    // Without http routes the refusal says so already (noWeightedRoute); listing these would not help.
    if (routesOf(vs, 'http').length === 0) continue;
    routes.forEach((route, i) => {
      if (!splitsBothTracks(route, ctx) || selectors.some((s) => selects(s, route))) return;
      found.problems.push({
        path: `${VS_PATH}.${field}`,
        message:
          `VirtualService ${ctx.vsName} ${describeRoute(kind, route, i)} also splits between ${ctx.tracks.both} ` +
          `but is not managed, so it would keep its weights while the http route moves: add ` +
          `${selectorText(kind, route)} to ${field}, or route it to one track only`,
      });
    });
  }
  return found;
}

/**
 * Finds the routes whose weights Stepwise moves: the http routes named in `virtualService.routes`, or else the
 * one http route with destinations to both subsets, and the tls/tcp routes listed in `tlsRoutes`/`tcpRoutes`.
 * Routes that only point at one subset (such as a header match pinning testers to the canary) are the user's.
 */
export function findManagedRoutes(
  vs: object | undefined,
  istio: IstioSpec,
  tracks: TrackDestinations = trackDestinations(istio),
): ManagedRoutes {
  const ctx: Context = { vsName: istio.virtualService.name, tracks };
  if (vs === undefined) {
    return {
      ok: false,
      problems: [
        {
          path: `${VS_PATH}.name`,
          message: `VirtualService ${ctx.vsName} was not found in the Rollout's namespace; create it with an http route split between ${tracks.both}, or fix the name`,
        },
      ],
    };
  }
  const read = vs as VirtualService;
  const http = findHttpRoutes(read, istio, ctx);
  const l4 = findL4Routes(read, istio, ctx);
  const problems = [...http.problems, ...l4.problems];
  const routes = [...http.routes, ...l4.routes];
  const [first] = routes;
  if (problems.length > 0 || first === undefined) return { ok: false, problems };
  const weights = routes.map((r) => {
    const route = destinations(routesOf(read, r.kind)[r.index]);
    return { stable: route[r.stable]?.weight, canary: route[r.canary]?.weight };
  });
  // A destination without a weight gets none of the traffic when the route has several (Istio's default 0).
  const canaryWeight = weights[0]?.canary ?? 0;
  const inSync = weights.every((w) => w.canary === canaryWeight && w.stable === 100 - canaryWeight);
  const hosts = routes.flatMap(
    (r) => destinations(routesOf(read, r.kind)[r.index])[r.stable]?.destination?.host ?? [],
  );
  return { ok: true, routes, canaryWeight, inSync, hosts: [...new Set(hosts)] };
}

/**
 * True when no http destination of the VirtualService is a track's (no subset in a subset split, neither track
 * Service in a host split): its routing predates Stepwise and still sends to the plain Service.
 */
export function routesWithoutTracks(vs: object | undefined, tracks: TrackDestinations): boolean {
  if (vs === undefined) return false;
  const http = routesOf(vs as VirtualService, 'http');
  const isTrackDestination =
    tracks.mode === 'subset'
      ? (d: RouteDestination) => d.destination?.subset !== undefined
      : (d: RouteDestination) => tracks.isTrack(d, 'stable') || tracks.isTrack(d, 'canary');
  return http.length > 0 && http.every((route) => !destinations(route).some(isTrackDestination));
}

export function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`canary weight must be a whole number from 0 to 100; got ${weight}`);
  }
}

/**
 * JSON merge patch (RFC 7386) setting the managed routes to `canaryWeight` (stable gets the rest).
 * Merge patch replaces arrays whole, so it carries each route list that holds a managed route (`spec.http`, and
 * `spec.tls`/`spec.tcp` when listed) as read, only the weights changed, and the resourceVersion read, so that a
 * concurrent edit fails with 409 instead of being overwritten.
 */
export function weightPatch(vs: object, routes: ManagedRoute[], canaryWeight: number): object {
  checkWeight(canaryWeight);
  const read = vs as VirtualService;
  const spec: Partial<Record<RouteKind, Route[]>> = {};
  for (const managed of routes) {
    const list = (spec[managed.kind] ??= structuredClone(routesOf(read, managed.kind)));
    const route = destinations(list[managed.index]);
    const stable = route[managed.stable];
    const canary = route[managed.canary];
    if (stable === undefined || canary === undefined) {
      throw new RangeError(
        `weightPatch: ${managed.kind}[${managed.index}] has no destinations ${managed.stable} and ${managed.canary}`,
      );
    }
    stable.weight = 100 - canaryWeight;
    canary.weight = canaryWeight;
  }
  const resourceVersion = read.metadata?.resourceVersion;
  return {
    ...(resourceVersion !== undefined && { metadata: { resourceVersion } }),
    spec,
  };
}
