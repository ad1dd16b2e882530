// First adoption without downtime: while the VirtualService still routes to the plain host (as the service
// ran before Stepwise), the controller prepares <app>-stable and touches neither the routing nor the user's
// Deployment; once the route points at the subsets, 100% goes to stable and the user's Deployment is parked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { cartDeployment, cartDestinationRule, cartRollout } from './cart.js';
import { controllerOnSandbox, DR, ROLLOUTS, VS, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';

const hostOnlyRoute = [{ name: 'primary', route: [{ destination: { host: 'cart' } }], timeout: '5s' }];
const subsetRoute = [
  {
    name: 'primary',
    route: [
      { destination: { host: 'cart', subset: 'stable' }, weight: 100 },
      { destination: { host: 'cart', subset: 'canary' }, weight: 0 },
    ],
    timeout: '5s',
  },
];

describe('adopting a running service whose routing predates the track subsets', () => {
  let sandbox: ControllerOnSandbox;
  const waitFor = (until: (s: RolloutStatus) => boolean) => sandbox.waitFor('cart', until);

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 300);
    const { apps, custom } = sandbox;
    await apps.createNamespacedDeployment({ namespace: ns, body: cartDeployment(3) });
    await custom.createNamespacedCustomObject({
      ...VS,
      namespace: ns,
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'cart' },
        spec: { hosts: ['cart'], http: hostOnlyRoute },
      },
    });
    await custom.createNamespacedCustomObject({ ...DR, namespace: ns, body: cartDestinationRule() });
    await custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: cartRollout() });
    await sandbox.start();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prepares a ready -stable while the user routing and Deployment keep serving', async () => {
    const s = await waitFor((x) => x.reason === 'AwaitingRouting');
    expect(s.phase).toBe('Initializing');
    expect(s.message).toContain('route the VirtualService to the subsets (stable 100, canary 0)');
    const stable = await sandbox.apps.readNamespacedDeployment({ namespace: ns, name: 'cart-stable' });
    expect(stable.status?.readyReplicas).toBe(3);
    expect(
      (await sandbox.apps.readNamespacedDeployment({ namespace: ns, name: 'cart' })).spec?.replicas,
    ).toBe(3);
    const vs = (await sandbox.custom.getNamespacedCustomObject({ ...VS, namespace: ns, name: 'cart' })) as {
      spec: { http: unknown };
    };
    expect(vs.spec.http).toEqual(hostOnlyRoute);
  });

  it('finishes adoption once the route points at the subsets: Healthy, the user Deployment parked', async () => {
    const vs = (await sandbox.custom.getNamespacedCustomObject({ ...VS, namespace: ns, name: 'cart' })) as {
      spec: Record<string, unknown>;
    };
    await sandbox.custom.replaceNamespacedCustomObject({
      ...VS,
      namespace: ns,
      name: 'cart',
      body: { ...vs, spec: { ...vs.spec, http: subsetRoute } },
    });
    const s = await waitFor((x) => x.phase === 'Healthy');
    expect(s.stableRevision).toBeDefined();
    expect(
      (await sandbox.apps.readNamespacedDeployment({ namespace: ns, name: 'cart' })).spec?.replicas,
    ).toBe(0);
  });
});
