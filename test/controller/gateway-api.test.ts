// A Rollout routed by a Gateway API HTTPRoute on the sandbox API server, through the real client-node: the controller
// creates the two backend Services, and adopting the service moves only the managed rule's two weights (a JSON patch),
// whatever else the route holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerOnSandbox, HTTP_ROUTES, rolloutSpec, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';

const route = {
  parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }],
  rules: [
    {
      name: 'testers',
      matches: [{ headers: [{ name: 'x-canary', value: 'always' }] }],
      backendRefs: [{ name: 'cart-canary', port: 80 }],
    },
    {
      name: 'primary',
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-via', value: 'mesh' }] } },
      ],
      backendRefs: [
        { name: 'cart-stable', port: 80, weight: 90 },
        { name: 'cart-canary', port: 80, weight: 10 },
      ],
    },
  ],
};

describe('a Rollout routed by an HTTPRoute (GAMMA: parentRef the Service)', () => {
  let sandbox: ControllerOnSandbox;

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 200);
    await sandbox.createDeployment('cart', 1, [{ containerPort: 8080 }]);
    await sandbox.createHttpRoute('cart', route);
    const spec = rolloutSpec('cart') as { trafficRouting: unknown };
    await sandbox.createRollout('cart', {
      ...spec,
      trafficRouting: { gatewayAPI: { httpRoute: { name: 'cart' } } },
    });
    await sandbox.start();
  }, 30_000);

  afterAll(() => sandbox?.stop());

  it('adopts it: Healthy, 100% on stable, and nothing but the two weights changed in the route', async () => {
    const s = await sandbox.waitFor('cart', (x) => x.phase === 'Healthy' || x.phase === 'Failed');
    expect(s.phase, s.message).toBe('Healthy');
    const after = (await sandbox.read(HTTP_ROUTES, 'cart')).spec;
    const expected = structuredClone(route) as { rules: { backendRefs: { weight?: number }[] }[] };
    expected.rules[1]!.backendRefs[0]!.weight = 100;
    expected.rules[1]!.backendRefs[1]!.weight = 0;
    expect(after).toStrictEqual(expected);
  });

  it('created both backend Services, selecting the track label, owned by the Rollout', async () => {
    for (const track of ['stable', 'canary']) {
      const service = await sandbox.core.readNamespacedService({ namespace: ns, name: `cart-${track}` });
      expect(service.spec?.selector).toEqual({ app: 'cart', 'stepwise.dev/track': track });
      expect(service.spec?.ports?.map((p) => p.port)).toEqual([8080]);
      expect(service.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Rollout', name: 'cart' });
    }
  });
});
