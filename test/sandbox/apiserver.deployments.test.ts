import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import type { V1Deployment, V1DeploymentStatus } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, eventually, startSandbox } from './apiserver-fixture.js';
import type { Sandbox } from './apiserver-fixture.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ readyDelayFor: (image) => (image.startsWith('broken') ? Infinity : 50) });
});
afterAll(async () => {
  await sb.server.close();
});

interface Observed {
  generation?: number;
  status: V1DeploymentStatus;
}

/** Records every state of one Deployment as watch events deliver it. */
async function observe(namespace: string, name: string) {
  const seen: Observed[] = [];
  const controller = await new Watch(sb.kc).watch(
    `/apis/apps/v1/namespaces/${namespace}/deployments`,
    { fieldSelector: `metadata.name=${name}` },
    (type, obj: V1Deployment) => {
      if (type === 'ADDED' || type === 'MODIFIED')
        seen.push({ generation: obj.metadata?.generation, status: obj.status ?? {} });
    },
    () => {},
  );
  return { seen, stop: () => controller.abort() };
}

const read = (namespace: string, name: string) => sb.apps.readNamespacedDeployment({ namespace, name });

describe('sandbox API: the Deployment controller', () => {
  it('makes pods ready after the delay for their image and reports it in status and watch events', async () => {
    const watch = await observe('d1', 'web');
    await sb.apps.createNamespacedDeployment({ namespace: 'd1', body: deployment('web', 'app:1', 2) });
    await eventually(async () =>
      expect((await read('d1', 'web')).status).toMatchObject({
        observedGeneration: 1,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
    );
    // Before the pods were ready, the status said so: created, not yet ready.
    expect(watch.seen.some((s) => s.status.replicas === 2 && (s.status.readyReplicas ?? 0) === 0)).toBe(true);
    expect(sb.server.pods('d1', 'web')).toEqual([
      expect.objectContaining({ image: 'app:1', ready: true }),
      expect.objectContaining({ image: 'app:1', ready: true }),
    ]);
    watch.stop();
  });

  it('never makes pods ready when their image delay is Infinity', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: 'd2', body: deployment('broken', 'broken:1') });
    await sb.apps.createNamespacedDeployment({ namespace: 'd2', body: deployment('fine', 'app:1') });
    await eventually(async () => expect((await read('d2', 'fine')).status?.readyReplicas).toBe(1));
    const broken = await read('d2', 'broken');
    expect(broken.status).toMatchObject({ observedGeneration: 1, replicas: 1, updatedReplicas: 1 });
    expect(broken.status?.readyReplicas ?? 0).toBe(0);
    expect(broken.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('False');
    expect(sb.server.pods('d2', 'broken')).toEqual([
      expect.objectContaining({ image: 'broken:1', ready: false }),
    ]);
  });

  it('rolls a template change over one surge pod at a time, never dropping ready pods below the desired count', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: 'd3', body: deployment('web', 'app:1', 3) });
    await eventually(async () => expect((await read('d3', 'web')).status?.readyReplicas).toBe(3));
    const watch = await observe('d3', 'web');
    await sb.apps.patchNamespacedDeployment(
      {
        namespace: 'd3',
        name: 'web',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } },
      },
      mergePatch,
    );
    await eventually(async () =>
      expect((await read('d3', 'web')).status).toMatchObject({
        observedGeneration: 2,
        replicas: 3,
        updatedReplicas: 3,
        readyReplicas: 3,
      }),
    );
    const during = watch.seen.filter((s) => s.generation === 2 && s.status.observedGeneration === 2);
    expect(during.length).toBeGreaterThan(2);
    for (const { status } of during) {
      expect(status.readyReplicas).toBeGreaterThanOrEqual(3);
      expect(status.replicas).toBeLessThanOrEqual(4);
    }
    const updated = during.map((s) => s.status.updatedReplicas ?? 0);
    expect(updated).toEqual([...updated].sort((a, b) => a - b));
    expect(updated[0]).toBeLessThan(3);
    expect(sb.server.pods('d3', 'web').map((p) => `${p.image} ${p.ready}`)).toEqual([
      'app:2 true',
      'app:2 true',
      'app:2 true',
    ]);
    watch.stop();
  });

  it('keeps the old ready pod serving while the new template never gets ready', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: 'd4', body: deployment('web', 'app:1') });
    await eventually(async () => expect((await read('d4', 'web')).status?.readyReplicas).toBe(1));
    await sb.apps.patchNamespacedDeployment({
      namespace: 'd4',
      name: 'web',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'broken:2' }],
    });
    await eventually(async () =>
      expect((await read('d4', 'web')).status).toMatchObject({
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 1,
        readyReplicas: 1,
      }),
    );
    expect(
      sb.server
        .pods('d4', 'web')
        .map((p) => `${p.image} ${p.ready}`)
        .sort(),
    ).toEqual(['app:1 true', 'broken:2 false']);
  });

  it('empties a deployment scaled to 0 and refills it when scaled up', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: 'd5', body: deployment('web', 'app:1', 2) });
    await eventually(async () => expect((await read('d5', 'web')).status?.readyReplicas).toBe(2));
    await sb.apps.patchNamespacedDeploymentScale(
      { namespace: 'd5', name: 'web', body: { spec: { replicas: 0 } } },
      mergePatch,
    );
    await eventually(async () => {
      const status = (await read('d5', 'web')).status;
      expect(status?.observedGeneration).toBe(2);
      expect(status?.replicas ?? 0).toBe(0);
      expect(status?.readyReplicas ?? 0).toBe(0);
    });
    expect(sb.server.pods('d5', 'web')).toEqual([]);
    await sb.apps.patchNamespacedDeploymentScale(
      { namespace: 'd5', name: 'web', body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    await eventually(async () =>
      expect((await read('d5', 'web')).status).toMatchObject({ observedGeneration: 3, readyReplicas: 1 }),
    );
  });

  it('forgets the pods of a deleted deployment', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: 'd6', body: deployment('web', 'app:1') });
    await eventually(() => expect(sb.server.pods('d6', 'web')).toHaveLength(1));
    await sb.apps.deleteNamespacedDeployment({ namespace: 'd6', name: 'web' });
    await eventually(() => expect(sb.server.pods('d6', 'web')).toEqual([]));
  });
});
