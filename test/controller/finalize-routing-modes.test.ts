// The deletion finalizer moves the canary weight to 0 through the router of the Rollout's routing mode (the one
// the reconcile uses), not only for an Istio subset split: a Gateway API route and an Istio host split too.
import { describe, expect, it } from 'vitest';
import { DRAIN_MS, finalize, FINALIZER } from '../../src/controller/finalize.js';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { readManifests } from '../../sandbox/stack.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { FakeCluster } from './fake-cluster.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const NS = 'production';

function deletedRollout(cluster: FakeCluster, example: string, routeKind: string, plural: string): void {
  const manifests = readManifests(new URL(`../../rollouts/${example}`, import.meta.url).pathname) as Json[];
  const rollout = manifests.find((m) => m.kind === 'Rollout')!;
  const route = structuredClone(manifests.find((m) => m.kind === routeKind)!);
  cluster.put(plural, route);
  cluster.put('rollouts', {
    ...rollout,
    metadata: { ...rollout.metadata, finalizers: [FINALIZER], deletionTimestamp: '2026-01-01T00:00:00Z' },
  });
}

const deps = (cluster: FakeCluster) => ({
  cluster,
  logger: createLogger({ silent: true }),
  now: () => new Date('2026-01-01T00:00:10Z'),
});

describe('the deletion finalizer in every routing mode', () => {
  it('Gateway API: sets the canary backendRef of the managed HTTPRoute rule to 0 (and stable to 100)', async () => {
    const cluster = new FakeCluster(NS);
    deletedRollout(cluster, 'product-service-httproute', 'HTTPRoute', 'httproutes');
    const route = cluster.get<Json>('httproutes', 'product-service')!;
    route.spec.rules[1].backendRefs[0].weight = 75;
    route.spec.rules[1].backendRefs[1].weight = 25;
    cluster.put('httproutes', route);

    const rollout = (await cluster.getRollout(NS, 'product-service')) as RolloutObject;
    expect(await finalize(deps(cluster), rollout)).toEqual({ requeueAfterMs: DRAIN_MS });
    const refs = cluster.get<Json>('httproutes', 'product-service')!.spec.rules[1].backendRefs;
    expect(refs.map((r: Json) => [r.name, r.weight])).toEqual([
      ['product-service-stable', 100],
      ['product-service-canary', 0],
    ]);
    expect(cluster.calls.some((c) => c.method === 'jsonPatchCustom')).toBe(true);
  });

  it('Istio host split: sets the route to product-service-canary to 0 (and -stable to 100)', async () => {
    const cluster = new FakeCluster(NS);
    deletedRollout(cluster, 'product-service-host-split', 'VirtualService', 'virtualservices');
    const vs = cluster.get<Json>('virtualservices', 'product-service')!;
    vs.spec.http[1].route[0].weight = 75;
    vs.spec.http[1].route[1].weight = 25;
    cluster.put('virtualservices', vs);

    const rollout = (await cluster.getRollout(NS, 'product-service')) as RolloutObject;
    expect(await finalize(deps(cluster), rollout)).toEqual({ requeueAfterMs: DRAIN_MS });
    const routes = cluster.get<Json>('virtualservices', 'product-service')!.spec.http[1].route;
    expect(routes.map((r: Json) => [r.destination.host, r.weight])).toEqual([
      ['product-service-stable', 100],
      ['product-service-canary', 0],
    ]);
  });
});
