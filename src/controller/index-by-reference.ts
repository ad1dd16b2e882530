// Which Rollouts care about an object: the watch on Deployments, VirtualServices and DestinationRules
// only tells us a name changed; this maps it to the Rollout keys to reconcile.
import type { KubeObject } from '../kube/watch.js';

export type ReferenceKind = 'Deployment' | 'VirtualService' | 'DestinationRule' | 'HTTPRoute' | 'GRPCRoute';

export type RolloutReferences = Partial<Record<ReferenceKind, string>>;

export class ReferenceIndex {
  private readonly byRollout = new Map<string, RolloutReferences>();

  /** Records what a Rollout refers to (read from its spec, whether or not the spec is valid). */
  set(key: string, spec: unknown): void {
    const s = spec as {
      targetRef?: { name?: string };
      trafficRouting?: {
        istio?: { virtualService?: { name?: string }; destinationRule?: { name?: string } };
        gatewayAPI?: { httpRoute?: { name?: string }; grpcRoute?: { name?: string } };
      };
    };
    this.byRollout.set(key, {
      Deployment: s?.targetRef?.name,
      VirtualService: s?.trafficRouting?.istio?.virtualService?.name,
      DestinationRule: s?.trafficRouting?.istio?.destinationRule?.name,
      HTTPRoute: s?.trafficRouting?.gatewayAPI?.httpRoute?.name,
      GRPCRoute: s?.trafficRouting?.gatewayAPI?.grpcRoute?.name,
    });
  }

  delete(key: string): void {
    this.byRollout.delete(key);
  }

  /** Rollout keys (namespace/name) affected by a change to `object` of `kind`. */
  rolloutsFor(kind: ReferenceKind, object: KubeObject): string[] {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return [];
    const keys = new Set<string>();
    for (const ref of object.metadata?.ownerReferences ?? []) {
      if (ref.kind === 'Rollout') keys.add(`${namespace}/${ref.name}`);
    }
    for (const [key, refs] of this.byRollout) {
      if (key.startsWith(`${namespace}/`) && refs[kind] === name) keys.add(key);
    }
    return [...keys];
  }
}
