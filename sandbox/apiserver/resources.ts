import type { KubeObject } from './types.js';

/** One kind of object the sandbox serves, in all the versions it is served at. */
export interface ResourceType {
  /** API group; '' for the core group served under /api. */
  group: string;
  /** Served versions, preferred first; all versions share one storage (same schema). */
  versions: string[];
  /** Plural lowercase name used in URLs. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** `/status` exists: main writes ignore `.status`, status writes change only `.status`. */
  hasStatus?: boolean;
  /** `/scale` exists (autoscaling/v1 Scale over `spec.replicas`). */
  hasScale?: boolean;
  /** Custom resources answer a delete with the deleted object, built-in types with a Success Status. */
  custom?: boolean;
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  {
    group: '',
    versions: ['v1'],
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
  },
  { group: '', versions: ['v1'], resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true },
  {
    group: '',
    versions: ['v1'],
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
  },
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    hasStatus: true,
    hasScale: true,
  },
  {
    group: 'coordination.k8s.io',
    versions: ['v1'],
    resource: 'leases',
    singular: 'lease',
    kind: 'Lease',
    namespaced: true,
  },
  // Stored apart from core v1 events: the two schemas differ and the sandbox does not convert between them.
  {
    group: 'events.k8s.io',
    versions: ['v1'],
    resource: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    shortNames: ['ev'],
  },
  {
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    resource: 'virtualservices',
    singular: 'virtualservice',
    kind: 'VirtualService',
    namespaced: true,
    shortNames: ['vs'],
    custom: true,
  },
  {
    group: 'networking.istio.io',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    resource: 'destinationrules',
    singular: 'destinationrule',
    kind: 'DestinationRule',
    namespaced: true,
    shortNames: ['dr'],
    custom: true,
  },
  // Gateway API (sigs.k8s.io/gateway-api config/crd/standard): HTTPRoute and GRPCRoute, served at v1.
  {
    group: 'gateway.networking.k8s.io',
    versions: ['v1', 'v1beta1'],
    resource: 'httproutes',
    singular: 'httproute',
    kind: 'HTTPRoute',
    namespaced: true,
    custom: true,
  },
  {
    group: 'gateway.networking.k8s.io',
    versions: ['v1'],
    resource: 'grpcroutes',
    singular: 'grpcroute',
    kind: 'GRPCRoute',
    namespaced: true,
    custom: true,
  },
  {
    group: 'stepwise.dev',
    versions: ['v1alpha1'],
    resource: 'rollouts',
    singular: 'rollout',
    kind: 'Rollout',
    namespaced: true,
    hasStatus: true,
    custom: true,
  },
  {
    group: 'apiextensions.k8s.io',
    versions: ['v1'],
    resource: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
  },
];

/**
 * The types with the versions of some groups replaced, e.g. `{'networking.istio.io': ['v1beta1', 'v1alpha3']}`
 * to play Istio 1.21, which does not serve v1 yet.
 */
export function withServedVersions(
  types: readonly ResourceType[],
  servedVersions: Record<string, string[]> = {},
): ResourceType[] {
  return types.map((t) => (servedVersions[t.group] ? { ...t, versions: servedVersions[t.group]! } : t));
}

/** `apps/v1`, or `v1` for the core group. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** The object as served at `version`: all served versions of a type share one storage. */
export function servedAs(obj: KubeObject, type: ResourceType, version: string): KubeObject {
  const { apiVersion: _stored, kind: _kind, ...rest } = obj;
  return { apiVersion: groupVersion(type.group, version), kind: type.kind, ...rest };
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** Names a resource type from outside: by apiVersion plus kind or plural resource name. */
export interface ResourceRef {
  apiVersion: string;
  kind?: string;
  resource?: string;
}

export class ResourceRegistry {
  constructor(readonly types: readonly ResourceType[] = RESOURCE_TYPES) {}

  /** The type served at `group/version/resource`, or undefined. */
  byPath(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find(
      (t) => t.group === group && t.versions.includes(version) && t.resource === resource,
    );
  }

  byRef(ref: ResourceRef): ResourceType | undefined {
    const { group, version } = splitApiVersion(ref.apiVersion);
    return this.types.find(
      (t) =>
        t.group === group &&
        t.versions.includes(version) &&
        (ref.resource === undefined || t.resource === ref.resource) &&
        (ref.kind === undefined || t.kind === ref.kind),
    );
  }

  /** Like `byRef`, but throws an error that says what the sandbox does serve. */
  resolve(ref: ResourceRef): ResourceType {
    const type = ref.kind === undefined && ref.resource === undefined ? undefined : this.byRef(ref);
    if (!type) {
      const served = this.types
        .map((t) => `${groupVersion(t.group, t.versions[0] ?? '')} ${t.kind}`)
        .join(', ');
      throw new Error(
        `sandbox API does not serve apiVersion "${ref.apiVersion}" kind "${ref.kind ?? ''}" resource "${
          ref.resource ?? ''
        }"; set apiVersion plus kind or resource to one of: ${served}`,
      );
    }
    return type;
  }

  groups(): Map<string, ResourceType[]> {
    const byGroup = new Map<string, ResourceType[]>();
    for (const t of this.types) byGroup.set(t.group, [...(byGroup.get(t.group) ?? []), t]);
    return byGroup;
  }
}
