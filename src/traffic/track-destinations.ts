import type { RolloutSpec } from '../api/schema.js';
import { workloadName, type Track } from '../workload/labels.js';
import { resolveHost } from './hosts.js';
import type { RouteDestination } from './istio-objects.js';

export type IstioSpec = NonNullable<RolloutSpec['trafficRouting']['istio']>;

/**
 * How a route destination is told to be the stable or the canary one. A subset split names one host and the
 * DestinationRule subsets `stable`/`canary`; a host split names two Services, `<app>-stable`/`<app>-canary`
 * (as Argo Rollouts' host-level split and Flagger's `-primary`/`-canary` do), each selecting one track's pods.
 */
export interface TrackDestinations {
  mode: 'subset' | 'host';
  /** The subset or Service name of each track. */
  names: Record<Track, string>;
  isTrack(destination: RouteDestination, track: Track): boolean;
  /** `subset stable` / `host app-stable`: how a track's destination is named in messages. */
  describe(track: Track): string;
  /** `subsets stable and canary` / `hosts app-stable and app-canary`. */
  both: string;
  /** The Rollout fields that name the two destinations, for a fix that says "or set …". */
  fields: string;
  /** A destination to paste into the route: `{destination: {host: app, subset: stable}, weight: 100}`. */
  example(host: string | undefined, track: Track, weight: number): string;
}

export interface TrackContext {
  /** targetRef.name: the default Service names of a host split derive from it. */
  target?: string;
  namespace?: string;
  clusterDomain?: string;
}

/** The Services of a host split: as named in the Rollout, else `<target>-stable` / `<target>-canary`. */
export function hostSplitServices(
  istio: { stableService?: string; canaryService?: string },
  target: string | undefined,
): Record<Track, string> {
  const named = (track: Track, given: string | undefined): string => {
    if (given !== undefined) return given;
    if (target === undefined)
      throw new TypeError(`host split needs targetRef.name to name the ${track} Service`);
    return workloadName(target, track);
  };
  return { stable: named('stable', istio.stableService), canary: named('canary', istio.canaryService) };
}

export function trackDestinations(istio: IstioSpec, context: TrackContext = {}): TrackDestinations {
  const dr = istio.destinationRule;
  if (dr !== undefined) {
    const names = { stable: dr.stableSubset, canary: dr.canarySubset };
    return {
      mode: 'subset',
      names,
      isTrack: (d, track) => d.destination?.subset === names[track],
      describe: (track) => `subset ${names[track]}`,
      both: `subsets ${names.stable} and ${names.canary}`,
      fields: 'destinationRule.stableSubset/canarySubset to the subsets',
      example: (host, track, weight) =>
        `{destination: {host: ${host ?? '<service>'}, subset: ${names[track]}}, weight: ${weight}}`,
    };
  }
  const names = hostSplitServices(istio, context.target);
  const namespace = context.namespace ?? 'default';
  // Istio resolves a short host in the VirtualService's namespace; `app-stable` and its FQDN are one Service.
  const resolved = (host: string) => resolveHost(host, namespace, context.clusterDomain);
  return {
    mode: 'host',
    names,
    isTrack: (d, track) =>
      typeof d.destination?.host === 'string' &&
      d.destination.subset === undefined &&
      resolved(d.destination.host) === resolved(names[track]),
    describe: (track) => `host ${names[track]}`,
    both: `hosts ${names.stable} and ${names.canary}`,
    fields: 'stableService/canaryService to the Services',
    example: (_host, track, weight) => `{destination: {host: ${names[track]}}, weight: ${weight}}`,
  };
}
