// The Kubernetes calls one reconcile pass makes: the smallest surface the reconcile depends on, so that its
// ordering (weight before status, 409s, a failure or a crash between two calls) can be tested against an
// in-memory fake in milliseconds. `Cluster` (src/kube/cluster.ts) is the real implementation.
import type { V1Deployment, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import type { CustomResource, RolloutObject } from '../kube/cluster.js';

export interface ClusterAccess {
  getRollout(namespace: string, name: string): Promise<RolloutObject | undefined>;
  /** Merge patch of /status; a stale `resourceVersion` must fail with 409. */
  patchRolloutStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion: string | undefined,
  ): Promise<RolloutObject>;
  /** Merge patch of metadata (finalizers, annotations); a stale `resourceVersion` in it must fail with 409. */
  patchRolloutMetadata(
    namespace: string,
    name: string,
    metadata: Record<string, unknown>,
  ): Promise<RolloutObject>;
  getDeployment(namespace: string, name: string): Promise<V1Deployment | undefined>;
  createDeployment(namespace: string, body: V1Deployment): Promise<V1Deployment>;
  patchDeployment(namespace: string, name: string, body: object): Promise<V1Deployment>;
  getCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined>;
  /** Resolves to the patched object (undefined from a client that does not return it). */
  patchCustom(resource: CustomResource, namespace: string, name: string, body: object): Promise<unknown>;
  /** JSON patch (RFC 6902) of a custom object; a failed `test` op must fail with 422, a stale resourceVersion 409. */
  jsonPatchCustom(
    resource: CustomResource,
    namespace: string,
    name: string,
    operations: object[],
  ): Promise<void>;
  getService(namespace: string, name: string): Promise<V1Service | undefined>;
  createService(namespace: string, body: V1Service): Promise<V1Service>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** The Namespace object (its labels: Istio ambient's namespace-wide istio.io/use-waypoint). */
  getNamespace(name: string): Promise<V1Namespace | undefined>;
  createEvent(
    namespace: string,
    rollout: RolloutObject,
    /** With a `name`, a second create of the same Event must fail with 409 (AlreadyExists). */
    event: { type: string; reason: string; message: string; name?: string },
  ): Promise<void>;
}
