// What a reconcile pass reads of each kind it caches; the watch caches keep only that (client-go's informers
// offer the same cut as a TransformFunc). A field left out here reads as absent in every pass, so a new read of
// a cached kind's field starts by adding it below (test/controller/cache-projection.test.ts pins the cut).
import type { KubeObject } from '../kube/watch.js';

type Json = Record<string, unknown>;

function pick(object: unknown, fields: readonly string[]): Json | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const source = object as Json;
  const kept: Json = {};
  for (const field of fields) if (source[field] !== undefined) kept[field] = source[field];
  return kept;
}

/** Identity, versioning and what ties an object to a Rollout; never uid or creationTimestamp. */
const METADATA = [
  'name',
  'namespace',
  'resourceVersion',
  'generation',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'deletionTimestamp',
] as const;

function projected(object: KubeObject, parts: Record<string, readonly string[] | 'all'>): KubeObject {
  const source = object as Json;
  const kept = pick(source, ['apiVersion', 'kind'])!;
  for (const [part, fields] of Object.entries(parts)) {
    const value = fields === 'all' ? source[part] : pick(source[part], fields);
    if (value !== undefined) kept[part] = value;
  }
  return kept as KubeObject;
}

/**
 * A Deployment as observeWorkload, trackDeployment, templatePatch and finalize read it: the template whole
 * (its hash is the revision), the replica counts of its status, not its conditions.
 */
export function projectDeployment(object: KubeObject): KubeObject {
  return projected(object, {
    metadata: METADATA,
    spec: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'paused'],
    status: ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'],
  });
}

/** A routing object's spec whole (the router rewrites its routes from it); no status (Istio's analysis). */
export function projectRouting(object: KubeObject): KubeObject {
  return projected(object, { metadata: METADATA, spec: 'all' });
}

/** Gateway API routes are read live; their cache only tells a new version from one already seen. */
export function projectIdentity(object: KubeObject): KubeObject {
  return projected(object, { metadata: ['name', 'namespace', 'resourceVersion', 'ownerReferences'] });
}

/** A Rollout whole but for its creation time: status is written back as a merge patch against it. */
export function projectRollout(object: KubeObject): KubeObject {
  return projected(object, { metadata: [...METADATA, 'uid'], spec: 'all', status: 'all' });
}
