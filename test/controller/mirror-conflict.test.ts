// A mirror step needs the managed route's mirror: a VirtualService whose managed route mirrors elsewhere already is
// refused before any traffic moves, on the step, with the fix, and the VirtualService is left as the user wrote it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerOnSandbox, rolloutSpec, VS, type ControllerOnSandbox } from './fixture.js';

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
