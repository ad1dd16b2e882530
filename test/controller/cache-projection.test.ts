// The watch caches keep of each object what a pass reads, so that 10,000 Rollouts fit one replica: a
// Deployment without its status conditions, uid or creation time, routing objects without their status, Gateway
// API routes (read live) as their identity only. A field a pass starts reading must be added to the projection.
import { describe, expect, it } from 'vitest';
import { CachedCluster } from '../../src/controller/cached-cluster.js';
import type { ClusterAccess } from '../../src/controller/cluster-access.js';
import type { KubeObject } from '../../src/kube/watch.js';
import { cartDeployment, cartRollout } from './cart.js';

function cached(): CachedCluster {
  const cluster = new CachedCluster({} as ClusterAccess);
  for (const cache of Object.values(cluster.caches)) cache.syncedWhen(() => true);
  return cluster;
}

const served = (object: object, rest: object = {}) =>
  ({
    ...object,
    ...rest,
    metadata: {
      ...(object as { metadata: object }).metadata,
      namespace: 'shop',
      uid: '5b0c7c9e-0d5e-4b1e-9c1a-3f0f7d2a8e11',
      creationTimestamp: '2026-01-01T00:00:00Z',
      generation: 3,
      resourceVersion: '41',
      labels: { team: 'a' },
    },
  }) as KubeObject;

describe('what the watch caches keep', () => {
  it('keeps of a Deployment its template, replicas and rollout counts, not its conditions', async () => {
    const cluster = cached();
    const counts = {
      observedGeneration: 3,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
    };
    const deployment = served(cartDeployment(3), {
      status: {
        ...counts,
        unavailableReplicas: 1,
        conditions: [{ type: 'Available', status: 'True', message: 'Deployment has minimum availability.' }],
      },
    });
    cluster.onWatchEvent('Deployment', 'ADDED', deployment);
    const read = await cluster.getDeployment('shop', 'cart');
    expect(read).toEqual({
      metadata: {
        name: 'cart',
        namespace: 'shop',
        generation: 3,
        resourceVersion: '41',
        labels: { team: 'a' },
      },
      spec: cartDeployment(3).spec,
      status: counts,
    });
  });

  it('keeps of a VirtualService its spec whole but not the status Istio writes', async () => {
    const cluster = cached();
    const spec = { hosts: ['cart'], http: [{ name: 'primary', route: [{ destination: { host: 'cart' } }] }] };
    const vs = served(
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'cart' } },
      { spec, status: { validationMessages: [{ type: { code: 'IST0101' } }] } },
    );
    cluster.onWatchEvent('VirtualService', 'ADDED', vs);
    const read = await cluster.getCustom(
      { group: '', version: 'v1', plural: 'virtualservices' },
      'shop',
      'cart',
    );
    expect(read).toMatchObject({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', spec });
    expect(read).not.toHaveProperty('status');
    expect(read!.metadata).not.toHaveProperty('uid');
  });

  it('keeps a Rollout whole but for its creation time, and an HTTPRoute as its identity', () => {
    const cluster = cached();
    const rollout = served(cartRollout(), { status: { phase: 'Healthy', history: [{ revision: 'a' }] } });
    cluster.onWatchEvent('Rollout', 'ADDED', rollout);
    const { creationTimestamp: _, ...metadata } = (rollout as { metadata: object }).metadata as Record<
      string,
      unknown
    >;
    expect(cluster.caches.Rollout.get('shop', 'cart')).toEqual({ ...rollout, metadata });
    cluster.onWatchEvent(
      'HTTPRoute',
      'ADDED',
      served({ kind: 'HTTPRoute', metadata: { name: 'cart' } }, { spec: { rules: [{}] } }),
    );
    expect(cluster.caches.HTTPRoute.get('shop', 'cart')).toEqual({
      kind: 'HTTPRoute',
      metadata: { name: 'cart', namespace: 'shop', resourceVersion: '41' },
    });
  });
});
