import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deployment, failure, rollout, ROLLOUTS, startSandbox } from './apiserver-fixture.js';
import type { Sandbox } from './apiserver-fixture.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
  await sb.custom.createNamespacedCustomObject({
    ...ROLLOUTS,
    namespace: 'default',
    body: rollout('target'),
  });
  await sb.apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 'app:1') });
});
afterEach(() => sb.server.faults.reset());
afterAll(async () => {
  await sb.server.close();
});

const patchRollout = (body: object) =>
  sb.custom.patchNamespacedCustomObject(
    { ...ROLLOUTS, namespace: 'default', name: 'target', body },
    mergePatch,
  );

describe('sandbox API: fault injection', () => {
  it('fails the next matching write with 409 Conflict without applying it', async () => {
    sb.server.faults.failNext(1, 409, { verb: 'patch', resource: 'rollouts', name: 'target' });
    const err = await failure(patchRollout({ metadata: { labels: { attempt: 'one' } } }));
    expect(err.code).toBe(409);
    expect(err.status).toMatchObject({ kind: 'Status', reason: 'Conflict' });
    const read = await sb.custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'target',
    });
    expect(read.metadata.labels?.attempt).toBeUndefined();
    expect((await patchRollout({ metadata: { labels: { attempt: 'two' } } })).metadata.labels.attempt).toBe(
      'two',
    );
  });

  it('answers 429 with a Retry-After header', async () => {
    sb.server.faults.failNext(1, 429, { resource: 'deployments' }, { retryAfterSeconds: 3 });
    const err = await failure(sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' }));
    expect(err.code).toBe(429);
    expect(err.headers['retry-after']).toBe('3');
    expect(err.status).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
  });

  it('fails exactly N requests with 500, only those that match', async () => {
    sb.server.faults.failNext(2, 500, { verb: 'list', resource: 'deployments' });
    expect(
      (await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' })).metadata?.name,
    ).toBe('web');
    expect((await failure(sb.apps.listNamespacedDeployment({ namespace: 'default' }))).status.reason).toBe(
      'InternalError',
    );
    expect((await failure(sb.apps.listNamespacedDeployment({ namespace: 'default' }))).code).toBe(500);
    expect((await sb.apps.listNamespacedDeployment({ namespace: 'default' })).items.length).toBeGreaterThan(
      0,
    );
  });

  it('matches on subresource', async () => {
    sb.server.faults.failNext(1, 500, { resource: 'rollouts', subresource: 'status' });
    await patchRollout({ metadata: { labels: { main: 'ok' } } });
    const err = await failure(
      sb.custom.patchNamespacedCustomObjectStatus(
        { ...ROLLOUTS, namespace: 'default', name: 'target', body: { status: { phase: 'Healthy' } } },
        mergePatch,
      ),
    );
    expect(err.code).toBe(500);
  });

  it('answers 410 on a request, and on a watch with an ERROR event', async () => {
    sb.server.faults.failNext(1, 410, { verb: 'get' });
    expect(
      (await failure(sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' }))).code,
    ).toBe(410);

    sb.server.faults.failNext(1, 410, { verb: 'watch', resource: 'deployments' });
    const events: Array<{ type: string; code?: number }> = [];
    const ended = new Promise((resolve) => {
      void new Watch(sb.kc).watch(
        '/apis/apps/v1/namespaces/default/deployments',
        {},
        (type, obj: { code?: number }) => events.push({ type, code: obj.code }),
        resolve,
      );
    });
    expect(await ended).toBeNull();
    expect(events).toEqual([{ type: 'ERROR', code: 410 }]);
  });

  it('removes a pending failure with its undo function and with reset', async () => {
    const undo = sb.server.faults.failNext(5, 500, { resource: 'deployments' });
    undo();
    await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
    sb.server.faults.failNext(5, 500, { resource: 'deployments' });
    sb.server.faults.reset();
    await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'web' });
  });

  it('delays matching requests until the latency is removed', async () => {
    const order: string[] = [];
    const read = (name: string, label: string) =>
      sb.apps.readNamespacedDeployment({ namespace: 'default', name }).then(() => order.push(label));
    await sb.apps.createNamespacedDeployment({ namespace: 'default', body: deployment('slow', 'app:1') });
    const removeLatency = sb.server.faults.addLatency(300, { name: 'slow' });
    await Promise.all([read('slow', 'slow'), read('web', 'fast')]);
    expect(order).toEqual(['fast', 'slow']);
    removeLatency();
    order.length = 0;
    await read('slow', 'slow');
    await read('web', 'fast');
    expect(order).toEqual(['slow', 'fast']);
  });

  it('drops open watch streams of one resource, cleanly', async () => {
    const open = async (path: string) => {
      let finish: (err: unknown) => void = () => {};
      const ended = new Promise((resolve) => (finish = resolve));
      // Resolves once the server has answered with the stream's headers, i.e. the watch is registered.
      await new Watch(sb.kc).watch(
        path,
        {},
        () => {},
        (err) => finish(err),
      );
      return { ended };
    };
    const deployments = await open('/apis/apps/v1/namespaces/default/deployments');
    const rollouts = await open('/apis/stepwise.dev/v1alpha1/namespaces/default/rollouts');
    expect(sb.server.faults.dropWatches({ resource: 'deployments' })).toBe(1);
    expect(await deployments.ended).toBeNull();
    expect(sb.server.faults.dropWatches()).toBe(1);
    expect(await rollouts.ended).toBeNull();
  });
});
