// Istio 1.21 and older serve networking.istio.io only at v1alpha3 and v1beta1 (istio/istio
// manifests/charts/base/crds/crd-all.gen.yaml at 1.21.6; v1 is served from 1.22.0). The controller reads, watches and
// writes the routing objects at the version the cluster serves, instead of reporting them "not found".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerOnSandbox, rolloutSpec, TRACK_SUBSETS, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';
const V1BETA1 = { group: 'networking.istio.io', version: 'v1beta1' };

describe('an Istio that serves networking.istio.io/v1beta1 but not v1', () => {
  let sandbox: ControllerOnSandbox;

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(
      ns,
      200,
      {},
      {
        servedVersions: { 'networking.istio.io': ['v1beta1', 'v1alpha3'] },
      },
    );
    const { custom } = sandbox;
    await sandbox.createDeployment('cart', 1);
    await custom.createNamespacedCustomObject({
      ...V1BETA1,
      plural: 'virtualservices',
      namespace: ns,
      body: {
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'VirtualService',
        metadata: { name: 'cart' },
        spec: {
          hosts: ['cart'],
          http: [
            {
              route: [
                { destination: { host: 'cart', subset: 'stable' }, weight: 90 },
                { destination: { host: 'cart', subset: 'canary' }, weight: 10 },
              ],
            },
          ],
        },
      },
    });
    await custom.createNamespacedCustomObject({
      ...V1BETA1,
      plural: 'destinationrules',
      namespace: ns,
      body: {
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'DestinationRule',
        metadata: { name: 'cart' },
        spec: { host: 'cart', subsets: TRACK_SUBSETS },
      },
    });
    await sandbox.createRollout('cart', rolloutSpec('cart'));
    await sandbox.start();
  }, 30_000);

  afterAll(() => sandbox?.stop());

  it('adopts the service through v1beta1: Healthy, and all traffic on stable', async () => {
    const s = await sandbox.waitFor('cart', (x) => x.phase === 'Healthy' || x.phase === 'Failed');
    expect(s.phase, s.message).toBe('Healthy');
    const vs = (await sandbox.custom.getNamespacedCustomObject({
      ...V1BETA1,
      plural: 'virtualservices',
      namespace: ns,
      name: 'cart',
    })) as { spec: { http: { route: { weight: number }[] }[] } };
    expect(vs.spec.http[0]!.route.map((d) => d.weight)).toEqual([100, 0]);
  });
});
