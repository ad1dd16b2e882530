// The real controller on the sandbox API server: a pass reads the watch caches, so a Healthy Rollout's pass
// sends no GET (not even the 404 of a -canary that does not exist), and the watch event of the controller's
// own status write starts no second pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controllerOnSandbox,
  createCart,
  ROLLOUTS,
  SUBSET_ROUTE,
  type ControllerOnSandbox,
} from './fixture.js';

const ns = 'shop';

describe('a pass reads the watch caches', () => {
  let sandbox: ControllerOnSandbox;
  const requests: string[] = [];
  const passes: string[] = [];

  /** Waits until no pass ran for `quietMs`, then returns what the passes since `from` sent. */
  async function settle(quietMs = 400): Promise<void> {
    for (let seen = -1; seen !== passes.length;) {
      seen = passes.length;
      await new Promise((r) => setTimeout(r, quietMs));
    }
  }

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 50, {
      onKubernetesRequest: ({ verb, resource, code }) => requests.push(`${verb} ${resource} ${code}`),
      onPass: ({ key }) => passes.push(key),
    });
    await createCart(sandbox, ns, 2, SUBSET_ROUTE);
    await sandbox.start();
    await sandbox.waitFor('cart', (s) => s.phase === 'Healthy');
    await settle();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('sends no GET in a Healthy pass woken by a change to the Deployment, not even for the missing -canary', async () => {
    requests.length = 0;
    passes.length = 0;
    await sandbox.apps.patchNamespacedDeployment(
      { namespace: ns, name: 'cart', body: [{ op: 'add', path: '/metadata/labels', value: { team: 'a' } }] },
      undefined,
    );
    await sandbox.waitFor('cart', () => passes.length > 0);
    await settle();
    expect(passes.length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.startsWith('get '))).toEqual([]);
  });

  it('runs one pass for a spec change, not a second one for the watch event of its own status write', async () => {
    passes.length = 0;
    requests.length = 0;
    await sandbox.custom.patchNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      name: 'cart',
      body: [{ op: 'add', path: '/spec/progressDeadline', value: '7m' }],
    });
    await sandbox.waitFor('cart', (s) => s.observedGeneration === 2);
    await settle();
    expect(requests.filter((r) => r.startsWith('patch rollouts/status'))).toHaveLength(1);
    expect(passes).toEqual(['shop/cart']);
  });
});
