// A step whose additions the route object cannot take is refused before any traffic moves, on the step, with the
// fix, and the route is left as the user wrote it: a VirtualService whose managed route mirrors elsewhere already, an
// HTTPRoute whose managed rule has the 16 filters Gateway API allows (its CRD would refuse a 17th at the step).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerOnSandbox, HTTP_ROUTES, rolloutSpec, VS, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';
const http = [
  {
    name: 'primary',
    route: [
      { destination: { host: 'cart-stable' }, weight: 100 },
      { destination: { host: 'cart-canary' }, weight: 0 },
    ],
    mirror: { host: 'audit' },
  },
];

describe('a mirror step on a route that mirrors elsewhere already', () => {
  let sandbox: ControllerOnSandbox;

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 100);
    await sandbox.createDeployment('cart', 2, [{ containerPort: 8080 }]);
    await sandbox.createVirtualService('cart', { hosts: ['cart'], http });
    await sandbox.createRollout('cart', {
      ...rolloutSpec('cart', {}),
      steps: [{ mirror: { percent: 100 } }, { weight: 100 }],
    });
    await sandbox.start();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('fails the Rollout naming the step and the fix, and leaves the VirtualService alone', async () => {
    const status = await sandbox.waitFor('cart', (s) => s.phase === 'Failed');
    expect(status.reason).toBe('InvalidSpec');
    expect(status.message).toContain(
      'spec.steps[0].mirror: VirtualService cart http[0] "primary" already has mirror; a mirror step mirrors the managed route to the canary itself: remove yours for the rollout, or the mirror step',
    );
    expect((await sandbox.read(VS, 'cart')).spec.http).toEqual(http);
  });
});

describe('a mirror step on an HTTPRoute rule that has all the filters Gateway API allows', () => {
  let sandbox: ControllerOnSandbox;
  const route = {
    parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }],
    rules: [
      {
        filters: Array.from({ length: 16 }, (_, i) => ({
          type: 'ResponseHeaderModifier',
          responseHeaderModifier: { set: [{ name: `x-${i}`, value: 'v' }] },
        })),
        backendRefs: [
          { name: 'cart-stable', port: 80, weight: 100 },
          { name: 'cart-canary', port: 80, weight: 0 },
        ],
      },
    ],
  };

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 100);
    await sandbox.createDeployment('cart', 2, [{ containerPort: 8080 }]);
    await sandbox.createHttpRoute('cart', route);
    await sandbox.createRollout('cart', {
      ...rolloutSpec('cart'),
      trafficRouting: { gatewayAPI: { httpRoute: { name: 'cart' } } },
      steps: [{ mirror: { percent: 100 } }, { weight: 100 }],
    });
    await sandbox.start();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('fails the Rollout before the step, naming the step, the limit and the fix, and leaves the route alone', async () => {
    const status = await sandbox.waitFor('cart', (s) => s.phase === 'Failed' || s.phase === 'Healthy');
    expect(status.phase).toBe('Failed');
    expect(status.reason).toBe('InvalidSpec');
    expect(status.message).toMatch(
      /spec\.steps\[0\]\.mirror: HTTPRoute cart has 16 filters on the managed rule, the most Gateway API allows; .*remove one of yours, or the mirror step/,
    );
    expect((await sandbox.read(HTTP_ROUTES, 'cart')).spec).toStrictEqual(route);
  });
});
