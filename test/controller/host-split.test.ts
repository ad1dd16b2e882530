// A host split on the sandbox API server: the controller creates <app>-stable and <app>-canary Services selecting
// the track label (with the ports of the app's own Service), owned by the Rollout, and adopts the route once it
// sends to them. A Service of the user's that selects both tracks is refused, naming the fix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { controllerOnSandbox, rolloutSpec, ROLLOUTS, VS, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';
const plainRoute = [{ name: 'primary', route: [{ destination: { host: 'cart' } }], timeout: '5s' }];
const hostSplitRoute = [
  {
    name: 'primary',
    route: [
      { destination: { host: 'cart-stable' }, weight: 100 },
      { destination: { host: 'cart-canary' }, weight: 0 },
    ],
    timeout: '5s',
  },
];

describe('a host split between the two track Services', () => {
  let sandbox: ControllerOnSandbox;
  const waitFor = (name: string, until: (s: RolloutStatus) => boolean) => sandbox.waitFor(name, until);

  const app = async (name: string, servicesGiven?: { stableService: string; canaryService: string }) => {
    const { core } = sandbox;
    await sandbox.createDeployment(name, 2, [{ containerPort: 8080 }]);
    await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
      },
    });
    await sandbox.createVirtualService(name, {
      hosts: [name],
      http: name === 'cart' ? plainRoute : hostSplitRoute,
    });
    await sandbox.createRollout(name, rolloutSpec(name, servicesGiven ?? {}));
  };

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 300);
    await app('cart');
    // The user's own Service for the stable track selects every pod of the app: both tracks.
    await sandbox.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'till-blue' }, spec: { selector: { app: 'till' }, ports: [{ port: 80 }] } },
    });
    await app('till', { stableService: 'till-blue', canaryService: 'till-green' });
    await sandbox.start();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('creates <app>-stable and <app>-canary selecting the track label, with the app Service ports, owned by the Rollout', async () => {
    await waitFor('cart', (x) => x.reason === 'AwaitingRouting');
    const rollout = await sandbox.read(ROLLOUTS, 'cart');
    for (const track of ['stable', 'canary']) {
      const service = await sandbox.core.readNamespacedService({ namespace: ns, name: `cart-${track}` });
      expect(service.spec?.selector).toEqual({ app: 'cart', 'stepwise.dev/track': track });
      expect(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([['http', 80, 8080]]);
      expect(service.metadata?.ownerReferences).toMatchObject([
        { kind: 'Rollout', name: 'cart', uid: rollout.metadata.uid, controller: true },
      ]);
    }
    expect((await sandbox.read(VS, 'cart')).spec.http).toEqual(plainRoute);
  });

  it('adopts the route once it sends to the two Services, changing nothing in it', async () => {
    await sandbox.editSpec(VS, 'cart', (spec) => ({ ...spec, http: hostSplitRoute }));
    await waitFor('cart', (x) => x.phase === 'Healthy');
    expect((await sandbox.read(VS, 'cart')).spec.http).toEqual(hostSplitRoute);
  });

  it("refuses a user's Service that selects both tracks, naming the selector to add", async () => {
    const s = await waitFor('till', (x) => x.phase === 'Failed');
    expect(s.message).toMatch(/spec\.trafficRouting\.istio\.stableService/);
    expect(s.message).toMatch(/Service till-blue selects \{app: till\}.*add stepwise\.dev\/track: stable/);
  });
});
