import { isDeepStrictEqual } from 'node:util';
import type { RouteMatch } from '../api/schema.js';
import { combinedMatches, headerRouteIdOf, headerRouteName } from './header-matches.js';
import { destinations, describeRoute, routesOf, type Route, type VirtualService } from './istio-objects.js';
import type { ManagedRoute } from './managed-routes.js';
import { RoutingProblemsError, type RouteAdditions, type RouteState } from './router.js';
import type { TrackDestinations } from './track-destinations.js';

// What a mirror or headerRoute step adds to a VirtualService, and nothing else (istio/api networking/v1alpha3
// virtual_service.proto):
// - a mirror: `mirror` (a Destination) and `mirrorPercentage` ({value: 0..100}) on each managed http route, the
//   destination being the canary's as the route names it. Users never mirror to their own canary: a mirror to the
//   canary track is Stepwise's.
// - a header route: an http route named `stepwise-<target>-header-<id>` to the canary alone, placed right before
//   each managed route (Istio uses the first route that matches, in order), with the managed route's matches ANDed
//   in and its other settings (retries, timeout, rewrite, headers…) copied, so it only ever takes requests the
//   managed route would have had, and treats them the same.

const MIRROR_FIELDS = ['mirror', 'mirrorPercentage', 'mirrorPercent', 'mirrors'] as const;

/** What to do about a mirror of the user's on a managed route, where a mirror step needs to add its own. */
export const MIRROR_FIX =
  'a mirror step mirrors the managed route to the canary itself: remove yours for the rollout, or the mirror step';

interface IstioMatch {
  headers?: Record<string, unknown>;
  [field: string]: unknown;
}

function ownsMirror(route: Route, tracks: TrackDestinations): boolean {
  const mirror = route.mirror;
  return (
    mirror !== null &&
    typeof mirror === 'object' &&
    tracks.isTrack({ destination: mirror as Record<string, unknown> }, 'canary')
  );
}

/** The VirtualService without Stepwise's additions: its header routes dropped, its mirror off the routes. */
export function withoutAdditions(
  vs: object,
  tracks: TrackDestinations,
  owner: string | undefined,
): VirtualService {
  const copy = structuredClone(vs) as VirtualService;
  if (!Array.isArray(copy.spec?.http)) return copy;
  copy.spec.http = copy.spec.http
    .filter((route) => headerRouteIdOf(route.name, owner) === undefined)
    .map((route) => {
      if (!ownsMirror(route, tracks)) return route;
      const { mirror: _mirror, mirrorPercentage: _percentage, ...rest } = route;
      return rest;
    });
  return copy;
}

/** Stepwise's additions as found; `consistent` is false when the routes disagree (a crash between two writes). */
export function findAdditions(
  vs: object | undefined,
  tracks: TrackDestinations,
  owner: string | undefined,
): RouteAdditions & { consistent: boolean } {
  const http = vs === undefined ? [] : routesOf(vs as VirtualService, 'http');
  const percents = http.flatMap((route) =>
    ownsMirror(route, tracks)
      ? [(route.mirrorPercentage as { value?: number } | undefined)?.value ?? 100]
      : [],
  );
  const ids = http.flatMap((route) => headerRouteIdOf(route.name, owner) ?? []);
  const [mirrorPercent] = percents;
  const [headerRoute] = ids;
  return {
    ...(mirrorPercent !== undefined && { mirrorPercent }),
    ...(headerRoute !== undefined && { headerRoute }),
    consistent: new Set(percents).size <= 1 && new Set(ids).size <= 1,
  };
}

function istioHeaderMatch(
  user: IstioMatch | undefined,
  conditions: { name: string; value: string; type: string }[],
) {
  const headers: Record<string, unknown> = { ...(user?.headers ?? {}) };
  for (const condition of conditions) {
    const match = condition.type === 'Exact' ? { exact: condition.value } : { regex: condition.value };
    if (headers[condition.name] !== undefined && !isDeepStrictEqual(headers[condition.name], match))
      return undefined;
    headers[condition.name] = match;
  }
  return { ...(user ?? {}), headers };
}

function headerRouteBefore(
  managed: Route,
  canaryIndex: number,
  matches: RouteMatch[],
  name: string,
): Route | undefined {
  const settings: Route = structuredClone(managed);
  for (const field of ['name', 'match', 'route', ...MIRROR_FIELDS]) delete settings[field];
  const match = combinedMatches(managed.match as IstioMatch[] | undefined, matches, istioHeaderMatch);
  const canary = destinations(managed)[canaryIndex];
  if (match.length === 0 || canary === undefined) return undefined;
  return { name, match, route: [{ ...structuredClone(canary), weight: 100 }], ...settings };
}

/** The first managed http route that has a mirror of the user's, described, or undefined. */
export function userMirrorOf(http: Route[], managed: ManagedRoute[], vsName: string): string | undefined {
  for (const m of managed) {
    const route = m.kind === 'http' ? http[m.index] : undefined;
    const theirs = route && MIRROR_FIELDS.filter((field) => route[field] !== undefined);
    if (route && theirs && theirs.length > 0) {
      return `VirtualService ${vsName} ${describeRoute('http', route, m.index)} already has ${theirs.join(' and ')}`;
    }
  }
  return undefined;
}

/**
 * The http routes of a VirtualService without additions (`http`, weights already set), with the additions `state`
 * asks for. Throws when the managed route has a mirror of the user's, which one route cannot carry beside Stepwise's.
 */
export function withAdditions(
  http: Route[],
  managed: ManagedRoute[],
  state: RouteState,
  context: { vsName: string; owner: string | undefined; path: string },
): Route[] {
  const managedHttp = managed.filter((m) => m.kind === 'http');
  return http.flatMap((route, index) => {
    const nth = managedHttp.findIndex((m) => m.index === index);
    const m = managedHttp[nth];
    if (m === undefined) return [route];
    const out: Route[] = [];
    if (state.headerMatches) {
      const name = headerRouteName(context.owner, state.headerMatches, nth);
      const added = headerRouteBefore(route, m.canary, state.headerMatches, name);
      if (added) out.push(added);
    }
    if (state.mirrorPercent !== undefined) {
      const theirs = userMirrorOf(http, [m], context.vsName);
      if (theirs)
        throw new RoutingProblemsError([{ path: context.path, message: `${theirs}; ${MIRROR_FIX}` }]);
      route.mirror = structuredClone(destinations(route)[m.canary]?.destination);
      route.mirrorPercentage = { value: state.mirrorPercent };
    }
    out.push(route);
    return out;
  });
}
