import type { GatewayGrpcRoute } from './grpcroute.js';
import type { GatewayHttpRoute, KubernetesService } from './httproute.js';

/** The Kubernetes objects the mesh routes by, as raw JSON (only the fields the mesh reads are typed). */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HttpMatchRequest {
  name?: string;
  uri?: StringMatch;
  method?: StringMatch;
  headers?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  [unsupported: string]: unknown;
}

export interface HttpRouteDestination {
  destination?: { host?: string; subset?: string; port?: unknown };
  weight?: number;
}

export interface HttpFault {
  abort?: { httpStatus?: number; percentage?: { value?: number } };
  delay?: { fixedDelay?: string; percentage?: { value?: number } };
}

export interface Percent {
  value?: number;
}

/** One of `mirrors` (istio/api HTTPMirrorPolicy). */
export interface HttpMirrorPolicy {
  destination?: HttpRouteDestination['destination'];
  percentage?: Percent;
}

export interface HttpRoute {
  name?: string;
  match?: HttpMatchRequest[];
  route?: HttpRouteDestination[];
  fault?: HttpFault;
  mirror?: HttpRouteDestination['destination'];
  mirrorPercentage?: Percent;
  /** Deprecated integer form of mirrorPercentage. */
  mirrorPercent?: number;
  mirrors?: HttpMirrorPolicy[];
  [other: string]: unknown;
}

export interface VirtualService {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: { hosts?: string[]; http?: HttpRoute[]; [other: string]: unknown };
}

export interface DestinationRule {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    host?: string;
    subsets?: { name?: string; labels?: Record<string, string> }[];
    [other: string]: unknown;
  };
}

export interface Deployment {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    replicas?: number;
    template?: { metadata?: ObjectMeta; spec?: { containers?: { name?: string; image?: string }[] } };
    [other: string]: unknown;
  };
  status?: { readyReplicas?: number; [other: string]: unknown };
}

export interface MeshConfig {
  virtualServices: VirtualService[];
  destinationRules: DestinationRule[];
  deployments: Deployment[];
  /** Gateway API HTTPRoutes and GRPCRoutes attached to a Service (GAMMA), and the Services their backendRefs name. */
  httpRoutes?: GatewayHttpRoute[];
  grpcRoutes?: GatewayGrpcRoute[];
  services?: KubernetesService[];
}

/** Where the mesh reads its routing from; called every tick, so a source may cache. */
export interface MeshConfigSource {
  snapshot(): Promise<MeshConfig>;
}

export interface StaticConfigSource extends MeshConfigSource {
  /** Replaces the whole config (the next tick routes by it). */
  set(config: MeshConfig): void;
  /** Changes the config in place, e.g. a Deployment's readyReplicas or a route's weights. */
  update(change: (config: MeshConfig) => void): void;
}

/** An in-memory source for unit tests and offline simulation. */
export function staticConfigSource(initial: MeshConfig): StaticConfigSource {
  let current = structuredClone(initial);
  return {
    snapshot: () => Promise.resolve(current),
    set(config) {
      current = structuredClone(config);
    },
    update(change) {
      // A fresh object, so the mesh notices the change and recompiles its routing table.
      const next = structuredClone(current);
      change(next);
      current = next;
    },
  };
}

/**
 * Sorts parsed manifests (e.g. a multi-document YAML) into a MeshConfig; objects without a namespace get
 * `namespace`, as `kubectl apply -n` would. Other kinds are ignored.
 */
export function meshConfigFromManifests(manifests: unknown[], namespace: string): MeshConfig {
  const config: MeshConfig = { virtualServices: [], destinationRules: [], deployments: [] };
  for (const manifest of manifests) {
    if (manifest === null || typeof manifest !== 'object') continue;
    const object = structuredClone(manifest) as { kind?: string; metadata?: ObjectMeta };
    object.metadata = { ...object.metadata, namespace: object.metadata?.namespace ?? namespace };
    if (object.kind === 'VirtualService') config.virtualServices.push(object as VirtualService);
    else if (object.kind === 'DestinationRule') config.destinationRules.push(object as DestinationRule);
    else if (object.kind === 'Deployment') config.deployments.push(object as Deployment);
    else if (object.kind === 'HTTPRoute') (config.httpRoutes ??= []).push(object as GatewayHttpRoute);
    else if (object.kind === 'GRPCRoute') (config.grpcRoutes ??= []).push(object as GatewayGrpcRoute);
    else if (object.kind === 'Service') (config.services ??= []).push(object as KubernetesService);
  }
  return config;
}
