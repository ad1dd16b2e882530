// Finalizers, deletionTimestamp and garbage collection as kube-apiserver and its garbage collector do them.
import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, eventually, failure, rollout, ROLLOUTS, startSandbox } from './apiserver-fixture.js';
import type { Sandbox } from './apiserver-fixture.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type Meta = {
  name?: string;
  uid: string;
  resourceVersion: string;
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
};

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(() => sb.server.close());

const where = (name: string) => ({ ...ROLLOUTS, namespace: 'default', name });
const createRollout = async (name: string, finalizers?: string[]) =>
  (await sb.custom.createNamespacedCustomObject({
    ...ROLLOUTS,
    namespace: 'default',
    body: {
      ...rollout(name),
      metadata: { name, namespace: 'default', ...(finalizers ? { finalizers } : {}) },
    },
  })) as { metadata: Meta };
const readRollout = async (name: string) =>
  (await sb.custom.getNamespacedCustomObject(where(name))) as { metadata: Meta };
const patchMeta = (name: string, metadata: object) =>
  sb.custom.patchNamespacedCustomObject({ ...where(name), body: { metadata } }, mergePatch);
const ownedDeployment = async (name: string, owner: { metadata: Meta & { name?: string } }) => {
  const child = deployment(name, 'app:1');
  child.metadata!.ownerReferences = [
    {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      name: 'owner',
      uid: owner.metadata.uid,
      controller: true,
    },
  ];
  await sb.apps.createNamespacedDeployment({ namespace: 'default', body: child });
};
const deploymentGone = (name: string) =>
  sb.apps.readNamespacedDeployment({ namespace: 'default', name }).then(
    () => false,
    (error: { code?: number }) => error.code === 404,
  );

describe('sandbox API: finalizers and garbage collection', () => {
  it('answers a DELETE of an object with finalizers 200 with the object, now carrying its deletionTimestamp', async () => {
    await createRollout('held', ['example.com/hold']);
    const answer = (await sb.custom.deleteNamespacedCustomObject(where('held'))) as { metadata: Meta };
    expect(answer.metadata.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(answer.metadata.deletionGracePeriodSeconds).toBe(0);
    expect(answer.metadata.finalizers).toEqual(['example.com/hold']);
    const read = await readRollout('held');
    expect(read.metadata.deletionTimestamp).toBe(answer.metadata.deletionTimestamp);
    // A second DELETE changes nothing.
    const again = (await sb.custom.deleteNamespacedCustomObject(where('held'))) as { metadata: Meta };
    expect(again.metadata.resourceVersion).toBe(read.metadata.resourceVersion);
  });

  it('keeps deletionTimestamp out of clients’ hands and refuses new finalizers once deletion started', async () => {
    await createRollout('stamped', ['example.com/hold']);
    const faked = await failure(patchMeta('stamped', { deletionTimestamp: '2001-01-01T00:00:00Z' }));
    expect(faked.code).toBe(422);
    expect(faked.status.message).toBe(
      'Rollout "stamped" is invalid: metadata.deletionTimestamp: Invalid value: "2001-01-01T00:00:00Z": field is immutable',
    );
    expect((await readRollout('stamped')).metadata.deletionTimestamp).toBeUndefined();
    const { metadata } = (await sb.custom.deleteNamespacedCustomObject(where('stamped'))) as {
      metadata: Meta;
    };
    await patchMeta('stamped', { deletionTimestamp: null });
    expect((await readRollout('stamped')).metadata.deletionTimestamp).toBe(metadata.deletionTimestamp);

    const refused = await failure(
      patchMeta('stamped', { finalizers: ['example.com/hold', 'example.com/late'] }),
    );
    expect(refused.code).toBe(422);
    expect(refused.status.message).toBe(
      'Rollout "stamped" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/late"}',
    );
  });

  it('removes the object with the write that drops its last finalizer, and only then collects its dependents', async () => {
    const owner = await createRollout('owner', ['example.com/a', 'example.com/b']);
    await ownedDeployment('owner-stable', owner);
    const events: string[] = [];
    const watch = await new Watch(sb.kc).watch(
      '/apis/stepwise.dev/v1alpha1/namespaces/default/rollouts',
      { resourceVersion: owner.metadata.resourceVersion },
      (type: string, obj: { metadata: Meta & { name: string } }) => {
        if (obj.metadata.name === 'owner')
          events.push(`${type} ${obj.metadata.deletionTimestamp ? 'deleting' : ''}`);
      },
      () => undefined,
    );
    try {
      await sb.custom.deleteNamespacedCustomObject(where('owner'));
      await patchMeta('owner', { finalizers: ['example.com/b'] });
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Held by a finalizer, the owner exists: its dependents stay.
      expect(await deploymentGone('owner-stable')).toBe(false);
      expect((await readRollout('owner')).metadata.finalizers).toEqual(['example.com/b']);

      await patchMeta('owner', { finalizers: null });
      expect((await failure(readRollout('owner'))).code).toBe(404);
      await eventually(async () => expect(await deploymentGone('owner-stable')).toBe(true));
      await eventually(() =>
        expect(events).toEqual(['MODIFIED deleting', 'MODIFIED deleting', 'DELETED deleting']),
      );
    } finally {
      watch.abort();
    }
  });

  it('keeps dependents an owner deleted with propagationPolicy Orphan, also when finalizers held it', async () => {
    const owner = await createRollout('orphaner', ['example.com/a']);
    await ownedDeployment('orphan-stable', owner);
    await sb.custom.deleteNamespacedCustomObject({ ...where('orphaner'), propagationPolicy: 'Orphan' });
    await patchMeta('orphaner', { finalizers: [] });
    expect(await readRollout('orphaner').catch((e: { code?: number }) => e.code)).toBe(404);
    await eventually(async () => {
      const d = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'orphan-stable' });
      expect(d.metadata?.ownerReferences).toBeUndefined();
    });
  });
});
