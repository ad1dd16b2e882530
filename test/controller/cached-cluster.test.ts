// The cached ClusterAccess over the in-memory FakeCluster: reads come from the cache, a write's answer is
// cached at once, and a 409 on a stale cached object re-reads it live.
import { describe, expect, it } from 'vitest';
import { CachedCluster } from '../../src/controller/cached-cluster.js';
import type { KubeObject } from '../../src/kube/watch.js';
import { cartDeployment, cartRollout } from './cart.js';
import { FakeCluster } from './fake-cluster.js';

function cachedOver(fake: FakeCluster): CachedCluster {
  const cached = new CachedCluster(fake);
  for (const cache of Object.values(cached.caches)) cache.syncedWhen(() => true);
  cached.onWatchEvent('Rollout', 'ADDED', fake.get<KubeObject>('rollouts', 'cart')!);
  return cached;
}

/** The cache over a cluster that holds the cart Rollout. */
function cartCache(): CachedCluster {
  const fake = new FakeCluster('shop');
  fake.put('rollouts', cartRollout());
  return cachedOver(fake);
}

/** The cart Deployment with 2 replicas, as a watch event at `resourceVersion`. */
const cartDeploymentAt = (resourceVersion: string): KubeObject =>
  ({
    ...cartDeployment(2),
    metadata: { name: 'cart', namespace: 'shop', resourceVersion },
  }) as KubeObject;

describe('reading through the watch caches', () => {
  it('re-reads a Rollout live when a status write on the cached copy conflicts, so the retry succeeds', async () => {
    const fake = new FakeCluster('shop');
    fake.put('rollouts', cartRollout());
    const cached = cachedOver(fake);
    // A user's change the watch has not delivered yet.
    fake.put('rollouts', cartRollout({ progressDeadline: '7m' }));
    const stale = await cached.getRollout('shop', 'cart');
    await expect(
      cached.patchRolloutStatus('shop', 'cart', { phase: 'Healthy' }, stale!.metadata.resourceVersion),
    ).rejects.toMatchObject({ code: 409 });

    const fresh = await cached.getRollout('shop', 'cart');
    expect((fresh!.spec as { progressDeadline?: string }).progressDeadline).toBe('7m');
    const written = await cached.patchRolloutStatus(
      'shop',
      'cart',
      { phase: 'Healthy' },
      fresh!.metadata.resourceVersion,
    );
    expect((await cached.getRollout('shop', 'cart'))!.metadata.resourceVersion).toBe(
      written.metadata.resourceVersion,
    );
  });

  it('answers a Deployment that does not exist from the cache, without a request', async () => {
    const fake = new FakeCluster('shop');
    fake.put('rollouts', cartRollout());
    const cached = cachedOver(fake);
    const before = fake.calls.length;
    expect(await cached.getDeployment('shop', 'cart-canary')).toBeUndefined();
    expect(fake.calls.length).toBe(before);
  });

  it('takes the watch event of its own write as no news, and a user change as news', async () => {
    const fake = new FakeCluster('shop');
    fake.put('rollouts', cartRollout());
    fake.put('deployments', cartDeployment(2));
    const cached = cachedOver(fake);
    expect(cached.onWatchEvent('Deployment', 'ADDED', fake.get<KubeObject>('deployments', 'cart')!)).toBe(
      true,
    );
    await cached.patchDeployment('shop', 'cart', { spec: { replicas: 0 } });
    expect(cached.onWatchEvent('Deployment', 'MODIFIED', fake.get<KubeObject>('deployments', 'cart')!)).toBe(
      false,
    );
    fake.put('deployments', cartDeployment(3));
    expect(cached.onWatchEvent('Deployment', 'MODIFIED', fake.get<KubeObject>('deployments', 'cart')!)).toBe(
      true,
    );
  });

  it('keeps neither managedFields nor kubectl’s last-applied copy of a cached object', async () => {
    const fake = new FakeCluster('shop');
    fake.put('rollouts', cartRollout());
    const cached = cachedOver(fake);
    const deployment = cartDeployment(2) as KubeObject & Record<string, unknown>;
    cached.onWatchEvent('Deployment', 'ADDED', {
      ...deployment,
      metadata: {
        name: 'cart',
        namespace: 'shop',
        resourceVersion: '9',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', team: 'a' },
      },
    } as KubeObject);
    const read = (await cached.getDeployment('shop', 'cart'))!;
    expect(read.metadata?.managedFields).toBeUndefined();
    expect(read.metadata?.annotations).toEqual({ team: 'a' });
  });

  it('shares one frozen object with every reader: a pass cannot change the cache', async () => {
    const cached = cartCache();
    cached.onWatchEvent('Deployment', 'ADDED', cartDeploymentAt('9'));
    const first = (await cached.getDeployment('shop', 'cart'))!;
    expect(first.spec?.replicas).toBe(2);
    expect(await cached.getDeployment('shop', 'cart')).toBe(first);
    expect(() => {
      (first.spec as { replicas: number }).replicas = 5;
    }).toThrow(TypeError);
    expect((await cached.getDeployment('shop', 'cart'))!.spec?.replicas).toBe(2);
  });

  it("keeps a watch event's object without a copy, and a write's answer as a copy its writer may change", async () => {
    const fake = new FakeCluster('shop');
    fake.put('rollouts', cartRollout());
    const cached = new CachedCluster(fake);
    for (const cache of Object.values(cached.caches)) cache.syncedWhen(() => true);
    // The watch parsed the event for the caches: its spec is the cached one, frozen.
    const event = structuredClone(fake.get<KubeObject & { spec: object }>('rollouts', 'cart')!);
    cached.onWatchEvent('Rollout', 'ADDED', event);
    const read = (await cached.getRollout('shop', 'cart'))!;
    expect(read.spec).toBe(event.spec);
    expect(Object.isFrozen(event.spec)).toBe(true);

    const written = (await cached.patchRolloutStatus(
      'shop',
      'cart',
      { phase: 'Healthy' },
      read.metadata.resourceVersion,
    )) as { status: { phase: string } };
    written.status.phase = 'Progressing'; // the pass goes on with its answer
    expect((await cached.getRollout('shop', 'cart'))!.status?.phase).toBe('Healthy');
  });

  it('does not copy an object again for an event at the resourceVersion it holds (a relist of what did not change)', async () => {
    const cached = cartCache();
    const deployment = cartDeploymentAt('9');
    expect(cached.onWatchEvent('Deployment', 'ADDED', deployment)).toBe(true);
    const held = await cached.getDeployment('shop', 'cart');
    expect(cached.onWatchEvent('Deployment', 'SYNC', structuredClone(deployment))).toBe(false);
    expect(await cached.getDeployment('shop', 'cart')).toBe(held);
    const changed = cartDeploymentAt('10');
    expect(cached.onWatchEvent('Deployment', 'MODIFIED', changed)).toBe(true);
    expect(await cached.getDeployment('shop', 'cart')).not.toBe(held);
  });
});
