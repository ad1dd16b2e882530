// The deletion finalizer, pass by pass, against the sandbox API (real finalizers and garbage collection) on a
// virtual clock. Each pass starts from what it reads, as a restarted controller would.
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRAIN_MS, finalize, FINALIZER, TRAFFIC_RELEASED_ANNOTATION } from '../../src/controller/finalize.js';
import { Cluster, type RolloutObject, VIRTUAL_SERVICES } from '../../src/kube/cluster.js';
import { type ApiServer, startApiServer } from '../../sandbox/apiserver/index.js';
import { readManifests } from '../../sandbox/stack.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { deployment, eventually } from '../sandbox/apiserver-fixture.js';

const APP = 'product-service';
type HttpRoute = { route: { destination: { host: string; subset: string }; weight?: number }[] };

describe('the deletion finalizer', () => {
  let api: ApiServer;
  let cluster: Cluster;
  let now = new Date('2026-01-01T00:00:00Z');
  const deps = () => ({ cluster, logger: createLogger({ silent: true }), now: () => now });
  const rollout = async () => (await cluster.getRollout('default', APP)) as RolloutObject;
  const virtualServiceRoutes = async () =>
    ((await cluster.getCustom(VIRTUAL_SERVICES, 'default', APP)) as { spec: { http: HttpRoute[] } }).spec
      .http;
  const canaryWeight = async () =>
    (await virtualServiceRoutes())[1]!.route.find((r) => r.destination.subset === 'canary')?.weight;
  const weighted = (canary: number): HttpRoute => ({
    route: [
      { destination: { host: APP, subset: 'stable' }, weight: 100 - canary },
      { destination: { host: APP, subset: 'canary' }, weight: canary },
    ],
  });

  beforeAll(async () => {
    api = await startApiServer({ podReadyDelayMs: 10 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    cluster = new Cluster(kubeConfig);
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    // The example as it is mid-rollout: the route sends 10% to the canary.
    for (const manifest of readManifests(
      new URL('../../rollouts/product-service', import.meta.url).pathname,
    )) {
      await objects.create({ ...manifest, metadata: { namespace: 'default', ...manifest.metadata } });
    }
  });
  afterAll(() => api?.close());

  it('adds itself to a live Rollout and lets the pass go on once it is there', async () => {
    expect(await finalize(deps(), await rollout())).toEqual({ requeueAfterMs: 0 });
    expect((await rollout()).metadata.finalizers).toEqual([FINALIZER]);
    expect(await finalize(deps(), await rollout())).toBeUndefined();
  });

  it('moves the canary weight to 0, waits out the drain, then keeps -stable serving and lets the Rollout go', async () => {
    const owner = await rollout();
    const ownerReferences = [
      {
        apiVersion: owner.apiVersion,
        kind: 'Rollout',
        name: APP,
        uid: owner.metadata.uid!,
        controller: true,
      },
    ];
    for (const track of ['stable', 'canary']) {
      const d = deployment(`${APP}-${track}`, 'app:1');
      d.metadata!.ownerReferences = ownerReferences;
      await cluster.createDeployment('default', d);
    }
    await api.store.delete({ apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout' }, 'default', APP);

    // Pass 1: the time is noted, the weight goes to 0, nothing is deleted yet.
    expect(await finalize(deps(), await rollout())).toEqual({ requeueAfterMs: DRAIN_MS });
    expect(await canaryWeight()).toBe(0);
    expect((await rollout()).metadata.annotations?.[TRAFFIC_RELEASED_ANNOTATION]).toBe(now.toISOString());

    // A pass (or a restarted controller) before the drain is over waits for the rest of it.
    now = new Date(now.getTime() + 4_000);
    expect(await finalize(deps(), await rollout())).toEqual({ requeueAfterMs: DRAIN_MS - 4_000 });
    expect((await cluster.getDeployment('default', `${APP}-canary`))?.metadata?.name).toBeDefined();

    now = new Date(now.getTime() + DRAIN_MS);
    expect(await finalize(deps(), await rollout())).toEqual({});
    expect(await cluster.getRollout('default', APP)).toBeUndefined();
    const stable = await cluster.getDeployment('default', `${APP}-stable`);
    expect(stable?.metadata?.ownerReferences).toBeUndefined();
    await eventually(async () =>
      expect(await cluster.getDeployment('default', `${APP}-canary`)).toBeUndefined(),
    );
    expect(await cluster.getDeployment('default', `${APP}-stable`)).toBeDefined();
  });

  it('still moves the weight to 0 when the spec is invalid outside trafficRouting', async () => {
    const example = readManifests(new URL('../../rollouts/product-service', import.meta.url).pathname).find(
      (m) => m.kind === 'Rollout',
    ) as unknown as { spec: Record<string, unknown> };
    await api.store.create({
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'broken', namespace: 'default', finalizers: [FINALIZER] },
      spec: { ...example.spec, analysis: { interval: 'soon' } },
    });
    await cluster.patchCustom(VIRTUAL_SERVICES, 'default', APP, {
      spec: { http: [(await virtualServiceRoutes())[0], weighted(25)] },
    });
    expect(await canaryWeight()).toBe(25);
    await api.store.delete({ apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout' }, 'default', 'broken');

    const broken = (await cluster.getRollout('default', 'broken')) as RolloutObject;
    expect(await finalize(deps(), broken)).toEqual({ requeueAfterMs: DRAIN_MS });
    expect(await canaryWeight()).toBe(0);
  });
});
