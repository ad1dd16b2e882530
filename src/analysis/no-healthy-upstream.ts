import { escapeLabelValue, growthSince } from './promql.js';

// Requests that no pod answered: Envoy's 503 "no healthy upstream" (response flag UH) when the subset a request is
// routed to has no ready endpoint. The client sidecar then knows no peer, so Istio labels the request with
// destination_workload="unknown" and takes only the service from the cluster's metadata (populatePeerInfo in
// istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc): the subset is not in the labels, and only
// the callers (reporter="source") report them.

/** Label matchers of the callers' UH 503s to `host` (the DestinationRule's host, short or fully qualified). */
export function noHealthyUpstreamSelector(namespace: string, host: string): string {
  const [name = host, hostNamespace = namespace] = host.split('.');
  return [
    'reporter="source"',
    `destination_service_namespace="${escapeLabelValue(hostNamespace)}"`,
    `destination_service_name="${escapeLabelValue(name)}"`,
    'destination_workload="unknown"',
    'response_flags="UH"',
  ].join(', ');
}

/** The callers' UH 503s to `host` since `since` (exact growth, as the thresholds count the step window). */
export function noHealthyUpstreamSinceQuery(namespace: string, host: string, since: Date): string {
  return `sum(${growthSince(`istio_requests_total{${noHealthyUpstreamSelector(namespace, host)}}`, since)})`;
}

/** Ready pods of each track when the check ran, as the controller read them from the Deployments. */
export interface ReadyPods {
  canary: number;
  stable: number;
}

/**
 * Whether the service's UH 503s are the canary's. They name no subset, so they are attributed by readiness: to the
 * canary when it has no ready pod while stable has one, since then only the canary's subset can be without an
 * endpoint. With ready pods on both tracks a UH comes from the mesh learning of an endpoint change a moment after
 * Kubernetes, which says nothing about the new version; with none on either, stable's requests fail alike. Unknown
 * readiness counts nothing.
 */
export function noHealthyUpstreamIsCanary(ready: ReadyPods | undefined): boolean {
  return ready !== undefined && ready.canary === 0 && ready.stable > 0;
}
