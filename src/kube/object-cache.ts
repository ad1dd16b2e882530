// The objects one watch streams, kept by namespace/name so that a reconcile pass reads them without a request
// (client-go's informer store). Fed by the watch events and by the controller's own writes and live re-reads.
import type { KubeObject } from './watch.js';

type Json = Record<string, unknown>;
interface Stored extends KubeObject {
  metadata?: KubeObject['metadata'] & { managedFields?: unknown; annotations?: Record<string, string> };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What Stepwise never reads: server-side-apply bookkeeping and kubectl's copy of the whole object. Together
 * they are often larger than the rest (client-go's informers drop managedFields for the same reason,
 * TransformStripManagedFields).
 */
function trimmed(object: Stored): Stored {
  const { managedFields: _managed, annotations, ...metadata } = object.metadata ?? {};
  const kept =
    annotations && Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== LAST_APPLIED));
  return {
    ...object,
    metadata: { ...metadata, ...(kept && Object.keys(kept).length > 0 ? { annotations: kept } : {}) },
  };
}

/**
 * resourceVersions are opaque to clients, but kube-apiserver's (etcd revisions) and the sandbox's are decimal
 * integers: when both are, an older one never replaces a newer one (a write's answer and its watch event race).
 */
function isOlder(incoming: string | undefined, current: string | undefined): boolean {
  if (!incoming || !current || !/^\d+$/.test(incoming) || !/^\d+$/.test(current)) return false;
  return BigInt(incoming) < BigInt(current);
}

/** Freezes `value` and everything it holds. */
function deepFreeze<V>(value: V): V {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}

export const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class ObjectCache<T extends object = Json> {
  private readonly objects = new Map<string, Stored>();
  private synced: () => boolean = () => false;

  /** `project` keeps of each object what its readers use (all of it by default). */
  constructor(private readonly project: (object: KubeObject) => KubeObject = (object) => object) {}

  /** True once the watch delivered a full list: from then on, an object not here does not exist. */
  hasSynced(): boolean {
    return this.synced();
  }

  /** Ties readiness to the watches that fill this cache (one per namespace watched). */
  syncedWhen(synced: () => boolean): void {
    this.synced = synced;
  }

  get size(): number {
    return this.objects.size;
  }

  /**
   * The stored object itself, frozen (as client-go's listers share theirs): a pass that changes what it read throws
   * instead of changing the cache, and a read costs no copy (copies were 9% of the controller's CPU samples while
   * 1,000 Rollouts were checked at once).
   */
  get(namespace: string, name: string): T | undefined {
    return this.objects.get(objectKey(namespace, name)) as T | undefined;
  }

  /**
   * Stores an object from a watch event, a write's answer or a live read, unless a newer one is stored. A copy, frozen:
   * the writer's object (a write's answer the pass goes on with) stays its own to change. `owned` says nobody else
   * holds `object` (a watch event's, parsed for the cache): it is frozen as it is, which saves the copy's memory
   * (2 KiB of the 7 KiB a Rollout's objects took, bench/memory-per-rollout.ts) and its time.
   */
  put(object: KubeObject, { owned = false }: { owned?: boolean } = {}): void {
    const { namespace, name, resourceVersion } = object.metadata ?? {};
    if (namespace === undefined || name === undefined) return;
    const key = objectKey(namespace, name);
    const stored = this.objects.get(key)?.metadata?.resourceVersion;
    // The same resourceVersion is the same object (a relist of what did not change, or the event of our own write).
    if (resourceVersion !== undefined && resourceVersion === stored) return;
    if (isOlder(resourceVersion, stored)) return;
    const kept = trimmed(this.project(object) as Stored);
    this.objects.set(key, deepFreeze(owned ? kept : structuredClone(kept)));
  }

  /**
   * True when the stored object is at exactly this resourceVersion: the event of the controller's own write
   * (its answer was stored first) or a relist that brings nothing new.
   */
  holds(object: KubeObject): boolean {
    const { namespace, name, resourceVersion } = object.metadata ?? {};
    if (namespace === undefined || name === undefined || resourceVersion === undefined) return false;
    return this.objects.get(objectKey(namespace, name))?.metadata?.resourceVersion === resourceVersion;
  }

  delete(namespace: string, name: string): void {
    this.objects.delete(objectKey(namespace, name));
  }
}
