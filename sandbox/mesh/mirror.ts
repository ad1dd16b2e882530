// Request mirroring as the real mesh does it.
// - Istio: an http route's `mirror` (+ `mirrorPercentage`, or the deprecated integer `mirrorPercent`) and its
//   `mirrors` list become Envoy `request_mirror_policies` on the route; no percentage means 100%, an explicit 0 means
//   no mirror (istio/istio pilot/pkg/networking/core/route/route.go, MirrorPercent and MirrorPercentByPolicy).
// - Gateway API: a rule's `RequestMirror` filter, `percent` or `fraction` (denominator 100 by default), neither
//   meaning 100% (HTTPRequestMirrorFilter; istio/istio pilot/pkg/config/kube/gateway/conversion.go createMirrorFilter).
// Envoy sends each copy "fire and forget" through an async client and drops its answer (source/common/router/
// shadow_writer_impl.h); the caller gets the original destination's answer. The copy's Host gets a `-shadow` suffix.
// Telemetry of a copy: the async client bypasses the caller's HTTP filter chain, so the caller's sidecar reports
// nothing for it (istio/istio#23496, #11093); the mirror target's sidecar reports it with reporter="destination" like
// any request. The copy carries the caller's peer-metadata headers and mTLS identity, so the source labels are the
// caller's; destination_service comes from the inbound cluster's service, not the `-shadow` Host (host header
// fallback is off for inbound since Istio 1.10), so copies and real requests to a pod share one series.
import type { HttpRoute } from './config.js';
import type { HttpRouteBackendRef, HttpRouteFilter } from './httproute.js';
import { pickByWeight, type Random } from './random.js';
import type { Endpoint, RouteDestination } from './routing-table.js';

/** One mirror policy of a route: where copies go, and the share of the route's forwarded requests copied. */
export interface CompiledMirror {
  destination: RouteDestination;
  share: number;
}

/** How many copies of the users' requests ended one way at a mirror target (their answers reach no one). */
export interface MirrorStat {
  virtualService: string;
  /** The route (Istio: index in `spec.http`; Gateway API: the rule) whose requests were copied. */
  routeIndex: number;
  /** The Deployment that served the copy, or `unknown` when the mirror target had no ready pod. */
  workload: string;
  responseCode: number;
  /** Whether the original request carried the traffic generator's extra headers. */
  withHeaders: boolean;
  requests: number;
}

type Target = HttpRoute['mirror'];

const shareOf = (percent: number | undefined): number => Math.min(1, Math.max(0, (percent ?? 100) / 100));

/** The mirror policies of an Istio http route; `resolve` finds a destination's endpoints as for the route itself. */
export function istioMirrors(
  route: HttpRoute,
  resolve: (target: Target) => RouteDestination,
): CompiledMirror[] {
  const mirrors: CompiledMirror[] = [];
  if (route.mirror) {
    mirrors.push({
      destination: resolve(route.mirror),
      share: shareOf(route.mirrorPercentage?.value ?? route.mirrorPercent),
    });
  }
  for (const policy of route.mirrors ?? []) {
    if (policy.destination) {
      mirrors.push({ destination: resolve(policy.destination), share: shareOf(policy.percentage?.value) });
    }
  }
  return mirrors.filter((mirror) => mirror.share > 0);
}

/** The RequestMirror filters of a Gateway API rule; `resolve` finds a backendRef's endpoints as for its backendRefs. */
export function gatewayMirrors(
  filters: HttpRouteFilter[] | undefined,
  resolve: (ref: HttpRouteBackendRef) => RouteDestination,
): CompiledMirror[] {
  const mirrors: CompiledMirror[] = [];
  for (const filter of filters ?? []) {
    const mirror = filter.type === 'RequestMirror' ? filter.requestMirror : undefined;
    if (!mirror?.backendRef) continue;
    const fraction = mirror.fraction;
    const percent =
      fraction?.numerator !== undefined
        ? (100 * fraction.numerator) / (fraction.denominator ?? 100)
        : mirror.percent;
    mirrors.push({ destination: resolve(mirror.backendRef), share: shareOf(percent) });
  }
  return mirrors.filter((m) => m.share > 0);
}

/** A copy as its target answered it; `endpoint` is undefined when the target had no ready pod to take it. */
export interface ShadowAnswer {
  mirror: CompiledMirror;
  endpoint: Endpoint | undefined;
  responseCode: number;
  durationMs: number;
}

/**
 * The copies of one request that Envoy forwarded upstream (a request answered by the caller's sidecar itself — no
 * route, an injected abort, no cluster, no healthy pod — never reaches the router's mirror step): each policy copies
 * it with its share, to a pod of its target picked by ready replicas, which fails it at its own error rate.
 */
export function shadowCopies(mirrors: readonly CompiledMirror[], random: Random): ShadowAnswer[] {
  const answers: ShadowAnswer[] = [];
  for (const mirror of mirrors) {
    if (mirror.share < 1 && random.next() >= mirror.share) continue;
    const { endpoints, totalReplicas } = mirror.destination;
    if (mirror.destination.subsetMissing || totalReplicas <= 0) {
      answers.push({ mirror, endpoint: undefined, responseCode: 503, durationMs: 0 });
      continue;
    }
    const endpoint = pickByWeight(endpoints, totalReplicas, (e) => e.readyReplicas, random);
    answers.push({
      mirror,
      endpoint,
      responseCode: random.next() < endpoint.errorRate ? 500 : 200,
      durationMs: endpoint.latency(),
    });
  }
  return answers;
}
