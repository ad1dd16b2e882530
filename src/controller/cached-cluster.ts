// ClusterAccess that reads Rollouts, Deployments and routing objects from the watch caches: a pass costs no
// request unless it writes. Writes go to the API server as before (with the resourceVersion read), their
// answers go into the cache at once, and a 409 re-reads the object live, so the retry decides on the newest.
import type { V1Deployment, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import {
  type CustomResource,
  DESTINATION_RULES,
  ROLLOUTS,
  type RolloutObject,
  VIRTUAL_SERVICES,
} from '../kube/cluster.js';
import { isConflict } from '../kube/errors.js';
import { ObjectCache } from '../kube/object-cache.js';
import type { KubeObject } from '../kube/watch.js';
import { projectDeployment, projectIdentity, projectRollout, projectRouting } from './cache-projection.js';
import type { ClusterAccess } from './cluster-access.js';

// Gateway API routes are fed too (their events wake Rollouts), but read live: their JSON-patch writes do not
// return the object, so the cache would lag behind the controller's own write.
export type CachedKind =
  'Rollout' | 'Deployment' | 'VirtualService' | 'DestinationRule' | 'HTTPRoute' | 'GRPCRoute';

export class CachedCluster implements ClusterAccess {
  readonly caches: Record<CachedKind, ObjectCache> = {
    Rollout: new ObjectCache(projectRollout),
    Deployment: new ObjectCache(projectDeployment),
    VirtualService: new ObjectCache(projectRouting),
    DestinationRule: new ObjectCache(projectRouting),
    HTTPRoute: new ObjectCache(projectIdentity),
    GRPCRoute: new ObjectCache(projectIdentity),
  };

  constructor(private readonly live: ClusterAccess) {}

  /**
   * Feeds a watch event; says whether it brings news that needs a pass. The controller's own writes do not
   * (the pass that wrote already decided what follows), nor does a relist of an object the cache already holds.
   */
  onWatchEvent(kind: CachedKind, type: string, object: KubeObject): boolean {
    const cache = this.caches[kind];
    const { namespace, name } = object.metadata ?? {};
    if (type === 'DELETED') {
      if (namespace !== undefined && name !== undefined) cache.delete(namespace, name);
      return true;
    }
    const news = !cache.holds(object);
    // A watch event's object was parsed for the caches: nobody else changes it.
    cache.put(object, { owned: true });
    return news;
  }

  private kindOf(resource: CustomResource): CachedKind | undefined {
    if (resource.plural === ROLLOUTS.plural) return 'Rollout';
    if (resource.plural === VIRTUAL_SERVICES.plural) return 'VirtualService';
    if (resource.plural === DESTINATION_RULES.plural) return 'DestinationRule';
    return undefined;
  }

  /** From the cache once its watch listed everything (absent = does not exist); live before that. */
  private async read<T>(
    kind: CachedKind | undefined,
    namespace: string,
    name: string,
    live: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const cache = kind && this.caches[kind];
    if (cache?.hasSynced()) return cache.get(namespace, name) as T | undefined;
    return live();
  }

  /** A write's answer goes into the cache; a 409 refreshes the cache from a live read before it is thrown. */
  private async write<T>(
    kind: CachedKind | undefined,
    namespace: string,
    name: string,
    call: () => Promise<T>,
    reread: () => Promise<unknown>,
  ): Promise<T> {
    const cache = kind && this.caches[kind];
    try {
      const written = await call();
      if (cache && typeof written === 'object' && written !== null) cache.put(written as KubeObject);
      return written;
    } catch (error) {
      if (cache && isConflict(error)) {
        const current = await reread().catch(() => undefined);
        if (current) cache.put(current as KubeObject);
        else cache.delete(namespace, name);
      }
      throw error;
    }
  }

  getRollout(namespace: string, name: string): Promise<RolloutObject | undefined> {
    return this.read('Rollout', namespace, name, () => this.live.getRollout(namespace, name));
  }

  patchRolloutStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<RolloutObject> {
    return this.write(
      'Rollout',
      namespace,
      name,
      () => this.live.patchRolloutStatus(namespace, name, status, resourceVersion),
      () => this.live.getRollout(namespace, name),
    );
  }

  patchRolloutMetadata(
    namespace: string,
    name: string,
    metadata: Record<string, unknown>,
  ): Promise<RolloutObject> {
    return this.write(
      'Rollout',
      namespace,
      name,
      () => this.live.patchRolloutMetadata(namespace, name, metadata),
      () => this.live.getRollout(namespace, name),
    );
  }

  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined> {
    return this.read('Deployment', namespace, name, () => this.live.getDeployment(namespace, name));
  }

  createDeployment(namespace: string, body: V1Deployment): Promise<V1Deployment> {
    const name = body.metadata?.name ?? '';
    return this.write(
      'Deployment',
      namespace,
      name,
      () => this.live.createDeployment(namespace, body),
      () => this.live.getDeployment(namespace, name),
    );
  }

  patchDeployment(namespace: string, name: string, body: object): Promise<V1Deployment> {
    return this.write(
      'Deployment',
      namespace,
      name,
      () => this.live.patchDeployment(namespace, name, body),
      () => this.live.getDeployment(namespace, name),
    );
  }

  getCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> {
    return this.read(this.kindOf(resource), namespace, name, () =>
      this.live.getCustom(resource, namespace, name),
    );
  }

  patchCustom(resource: CustomResource, namespace: string, name: string, body: object): Promise<unknown> {
    return this.write(
      this.kindOf(resource),
      namespace,
      name,
      () => this.live.patchCustom(resource, namespace, name, body),
      () => this.live.getCustom(resource, namespace, name),
    );
  }

  jsonPatchCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
    operations: object[],
  ): Promise<void> {
    return this.live.jsonPatchCustom(resource, namespace, name, operations);
  }

  getService(namespace: string, name: string): Promise<V1Service | undefined> {
    return this.live.getService(namespace, name);
  }

  createService(namespace: string, body: V1Service): Promise<V1Service> {
    return this.live.createService(namespace, body);
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.live.getSecret(namespace, name);
  }

  getNamespace(name: string): Promise<V1Namespace | undefined> {
    return this.live.getNamespace(name);
  }

  createEvent(
    namespace: string,
    rollout: RolloutObject,
    event: { type: string; reason: string; message: string; name?: string },
  ): Promise<void> {
    return this.live.createEvent(namespace, rollout, event);
  }
}
