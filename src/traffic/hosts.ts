// Host names as Istio compares them (istio/istio pilot/pkg/model/config.go ResolveShortnameToFQDN and
// MostSpecificHostMatch, pkg/config/host/name.go): a name without a dot is short for
// `name.<namespace>.svc.<cluster domain>`; any other name is taken as written. A DestinationRule applies to a
// destination when its host equals the destination's, or is a wildcard (`*.suffix`, `*`) the destination ends in.

/** Istio's default domain suffix (meshConfig / `--domain`); clusters with another suffix pass theirs. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The fully qualified name Istio resolves `host` to, for an object in `namespace`. */
export function resolveHost(host: string, namespace: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  if (host === '*' || host.includes('.') || host.includes(':')) return host;
  return `${host}.${namespace}.svc.${clusterDomain}`;
}

/** True when a DestinationRule for `ruleHost` applies to traffic sent to `destinationHost` (both resolved). */
export function ruleAppliesTo(ruleHost: string, destinationHost: string): boolean {
  if (ruleHost.startsWith('*')) return destinationHost.endsWith(ruleHost.slice(1));
  return ruleHost === destinationHost;
}
