// The objects of the files given to `validate`, served through the controller's own ClusterAccess, so that a Rollout
// is checked against its routing objects by the very code the controller runs (observeWorld and the routers).
import type { V1Deployment, V1Namespace, V1Service } from '@kubernetes/client-node';
import type { ClusterAccess } from '../controller/cluster-access.js';
import type { CustomResource, RolloutObject } from '../kube/cluster.js';
import type { ManifestObject } from './manifest-problems.js';

/** An object a Rollout refers to that the files do not hold. */
export interface MissingObject {
  /** `VirtualService`, `Service`… (a custom resource by its plural: `destinationrules`). */
  kind: string;
  namespace: string;
  name: string;
}

interface Identity {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

function identity(object: ManifestObject, defaultNamespace: string): Identity | undefined {
  const { apiVersion, kind, metadata } = object.value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown };
  };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof metadata?.name !== 'string') {
    return undefined;
  }
  // A Namespace is cluster-scoped: kept under no namespace, whatever the context's is.
  const namespace =
    kind === 'Namespace'
      ? ''
      : typeof metadata.namespace === 'string'
        ? metadata.namespace
        : defaultNamespace;
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return { group, kind, namespace, name: metadata.name };
}

const offline = (call: string) => () =>
  Promise.reject(new Error(`validate reads the files only; ${call} is not done offline`));

/**
 * Read-only ClusterAccess over manifest objects. An object without a namespace is in `defaultNamespace`, as
 * `kubectl apply -f` puts it in the context's namespace; of two objects with one name the later is kept, as the
 * later `kubectl apply` wins. Any version of a group is served, as the API server converts between them.
 */
export class ManifestCluster implements ClusterAccess {
  /** Every object read and not found, in the order asked. */
  readonly missing: MissingObject[] = [];
  /** Every object read and found. */
  readonly used = new Set<ManifestObject>();
  private readonly objects = new Map<string, ManifestObject>();

  constructor(objects: ManifestObject[], defaultNamespace: string) {
    for (const object of objects) {
      const id = identity(object, defaultNamespace);
      if (id) this.objects.set(this.key(id), object);
    }
  }

  /** The file object of a custom resource (`virtualservices`) or core kind (`Service`), if the files hold it. */
  find(kind: string, namespace: string, name: string, group?: string): ManifestObject | undefined {
    return this.objects.get(this.key({ group: group ?? '', kind: kind.toLowerCase(), namespace, name }));
  }

  // The kinds Stepwise reads are named by their plural: the kind in lower case plus "s" (virtualservices,
  // destinationrules, httproutes, grpcroutes).
  private key(id: Identity): string {
    const kind = id.kind.toLowerCase();
    return JSON.stringify([id.group, kind.endsWith('s') ? kind.slice(0, -1) : kind, id.namespace, id.name]);
  }

  private read(group: string, kind: string, namespace: string, name: string): unknown {
    const found = this.find(kind, namespace, name, group);
    if (found === undefined) {
      this.missing.push({ kind, namespace, name });
      return undefined;
    }
    this.used.add(found);
    return structuredClone(found.value);
  }

  getCustom(resource: CustomResource, namespace: string, name: string) {
    return Promise.resolve(
      this.read(resource.group, resource.plural, namespace, name) as Record<string, unknown> | undefined,
    );
  }

  getService(namespace: string, name: string) {
    return Promise.resolve(this.read('', 'Service', namespace, name) as V1Service | undefined);
  }

  getDeployment(namespace: string, name: string) {
    return Promise.resolve(this.read('apps', 'Deployment', namespace, name) as V1Deployment | undefined);
  }

  /** A Namespace in the files (cluster-scoped: no namespace of its own). */
  getNamespace(name: string) {
    const found = this.find('Namespace', '', name);
    if (found) this.used.add(found);
    return Promise.resolve(found && (structuredClone(found.value) as V1Namespace));
  }

  getRollout(): Promise<RolloutObject | undefined> {
    return Promise.resolve(undefined);
  }

  getSecret() {
    return Promise.resolve(undefined);
  }

  patchRolloutStatus = offline('a status write');
  patchRolloutMetadata = offline('a metadata write');
  createDeployment = offline('a Deployment create');
  patchDeployment = offline('a Deployment patch');
  patchCustom = offline('a patch');
  jsonPatchCustom = offline('a patch');
  createService = offline('a Service create');
  createEvent = offline('an Event');
}
