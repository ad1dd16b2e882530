// The parts of Gateway API's HTTPRoute and GRPCRoute (gateway.networking.k8s.io/v1) that Stepwise reads. Every other
// field (parentRefs, matches, filters, timeouts, fields this code does not know) is the user's and is never written.

export interface BackendRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [field: string]: unknown;
}

export interface RouteRule {
  name?: string;
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

export interface GatewayRoute {
  metadata?: { name?: string; resourceVersion?: string; [field: string]: unknown };
  spec?: { rules?: RouteRule[]; [field: string]: unknown };
  [field: string]: unknown;
}

export const GATEWAY_ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute'] as const;
export type GatewayRouteKind = (typeof GATEWAY_ROUTE_KINDS)[number];

/** An unset weight is 1 (sigs.k8s.io/gateway-api apis/v1 shared_types.go BackendRef.Weight, +kubebuilder:default=1). */
export const DEFAULT_BACKEND_WEIGHT = 1;

export function rulesOf(route: GatewayRoute): RouteRule[] {
  return Array.isArray(route.spec?.rules) ? route.spec.rules : [];
}

export function backendRefsOf(rule: RouteRule | undefined): BackendRef[] {
  return Array.isArray(rule?.backendRefs) ? rule.backendRefs : [];
}

/** `rules[1] "primary"` / `rules[0] (unnamed)`. */
export function describeRule(rule: RouteRule | undefined, index: number): string {
  return rule?.name === undefined ? `rules[${index}] (unnamed)` : `rules[${index}] "${rule.name}"`;
}

/** `Service cart-stable`, `Service shop/cart`, `example.com/Bucket b`. */
export function describeBackendRef(ref: BackendRef): string {
  const kind = ref.kind ?? 'Service';
  const group = ref.group ? `${ref.group}/` : '';
  const namespace = ref.namespace ? `${ref.namespace}/` : '';
  return `${group}${kind} ${namespace}${ref.name ?? '(no name)'}`;
}
