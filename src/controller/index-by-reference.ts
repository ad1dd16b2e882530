// Which Rollouts care about an object: the watch on Deployments, VirtualServices and DestinationRules
// only tells us a name changed; this maps it to the Rollout keys to reconcile. Kept both ways, so that an
// event costs a map lookup, not a scan of every Rollout (client-go's indexers do the same).
import type { KubeObject } from '../kube/watch.js';

export type ReferenceKind = 'Deployment' | 'VirtualService' | 'DestinationRule' | 'HTTPRoute' | 'GRPCRoute';

export type RolloutReferences = Partial<Record<ReferenceKind, string>>;

const objectKey = (kind: ReferenceKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export class ReferenceIndex {
  private readonly byRollout = new Map<string, string[]>();
  /** Most objects serve one Rollout: its key alone, a Set only for a shared object (a Set costs ~200 bytes). */
  private readonly byObject = new Map<string, string | Set<string>>();

  /** Records what a Rollout refers to (read from its spec, whether or not the spec is valid). */
  set(key: string, spec: unknown): void {
    const s = spec as {
      targetRef?: { name?: string };
      trafficRouting?: {
        istio?: { virtualService?: { name?: string }; destinationRule?: { name?: string } };
        gatewayAPI?: { httpRoute?: { name?: string }; grpcRoute?: { name?: string } };
      };
    };
    const refs: RolloutReferences = {
      Deployment: s?.targetRef?.name,
      VirtualService: s?.trafficRouting?.istio?.virtualService?.name,
      DestinationRule: s?.trafficRouting?.istio?.destinationRule?.name,
      HTTPRoute: s?.trafficRouting?.gatewayAPI?.httpRoute?.name,
      GRPCRoute: s?.trafficRouting?.gatewayAPI?.grpcRoute?.name,
    };
    const namespace = key.slice(0, key.indexOf('/'));
    this.delete(key);
    const objects = Object.entries(refs)
      .filter(([, name]) => typeof name === 'string')
      .map(([kind, name]) => objectKey(kind as ReferenceKind, namespace, name!));
    this.byRollout.set(key, objects);
    for (const object of objects) {
      const keys = this.byObject.get(object);
      if (keys === undefined || keys === key) this.byObject.set(object, key);
      else if (typeof keys === 'string') this.byObject.set(object, new Set([keys, key]));
      else keys.add(key);
    }
  }

  delete(key: string): void {
    for (const object of this.byRollout.get(key) ?? []) {
      const keys = this.byObject.get(object);
      if (keys === key) this.byObject.delete(object);
      else if (typeof keys === 'object') {
        keys.delete(key);
        if (keys.size === 1) this.byObject.set(object, keys.values().next().value!);
      }
    }
    this.byRollout.delete(key);
  }

  /** Rollout keys (namespace/name) affected by a change to `object` of `kind`. */
  rolloutsFor(kind: ReferenceKind, object: KubeObject): string[] {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return [];
    const referrers = this.byObject.get(objectKey(kind, namespace, name));
    const keys = new Set(typeof referrers === 'string' ? [referrers] : referrers);
    for (const ref of object.metadata?.ownerReferences ?? []) {
      if (ref.kind === 'Rollout') keys.add(`${namespace}/${ref.name}`);
    }
    return [...keys];
  }
}
