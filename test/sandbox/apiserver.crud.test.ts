import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, eventually, failure, rollout, ROLLOUTS, startSandbox } from './apiserver-fixture.js';
import type { Sandbox } from './apiserver-fixture.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.server.close();
});

describe('sandbox API: objects', () => {
  it('creates, reads, lists, replaces and deletes deployments', async () => {
    const created = await sb.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('crud', 'app:1'),
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.metadata?.generation).toBe(1);
    const rv = Number(created.metadata?.resourceVersion);
    expect(rv).toBeGreaterThan(0);

    const read = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'crud' });
    expect(read.spec?.template.spec?.containers[0]?.image).toBe('app:1');

    const list = await sb.apps.listNamespacedDeployment({ namespace: 'default' });
    expect(list.items.map((d) => d.metadata?.name)).toContain('crud');
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(rv);

    // The sandbox's Deployment controller writes status meanwhile: read-modify-write retries on 409, as clients do.
    let latest = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'crud' });
    const replace = async () => {
      latest = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'crud' });
      latest.spec!.replicas = 3;
      return sb.apps.replaceNamespacedDeployment({ namespace: 'default', name: 'crud', body: latest });
    };
    const replaced = await replace().catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
      return replace();
    });
    expect(replaced.spec?.replicas).toBe(3);
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(latest.metadata?.resourceVersion),
    );

    await sb.apps.deleteNamespacedDeployment({ namespace: 'default', name: 'crud' });
    const gone = await failure(sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'crud' }));
    expect(gone.code).toBe(404);
    expect(gone.status).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
    });
  });

  it('answers creating an existing name with 409 AlreadyExists', async () => {
    await sb.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'twice' }, data: { a: '1' } },
    });
    const err = await failure(
      sb.core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name: 'twice' }, data: {} },
      }),
    );
    expect(err.code).toBe(409);
    expect(err.status.reason).toBe('AlreadyExists');
  });

  it('creates, lists, replaces and deletes custom objects (Rollouts, Istio resources in both versions)', async () => {
    const created = await sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: rollout('shop'),
    });
    expect(created.metadata.generation).toBe(1);
    const listed = await sb.custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default' });
    expect(listed.items.map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual(['shop']);
    expect(listed.metadata.resourceVersion).toBeTruthy();

    created.spec.targetRef.name = 'shop-v2';
    const replaced = await sb.custom.replaceNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'shop',
      body: created,
    });
    expect(replaced.spec.targetRef.name).toBe('shop-v2');
    expect(replaced.metadata.generation).toBe(2);

    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'shop' },
      spec: { hosts: ['shop'] },
    };
    await sb.custom.createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'virtualservices',
      namespace: 'default',
      body: vs,
    });
    const beta = await sb.custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1beta1',
      plural: 'virtualservices',
      namespace: 'default',
      name: 'shop',
    });
    expect(beta.apiVersion).toBe('networking.istio.io/v1beta1');
    expect(beta.spec.hosts).toEqual(['shop']);

    const deleted = await sb.custom.deleteNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'shop',
    });
    expect(deleted.metadata.name).toBe('shop');
    expect(
      (
        await failure(
          sb.custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', name: 'shop' }),
        )
      ).code,
    ).toBe(404);
  });

  it('answers unknown resources with a 404 Status', async () => {
    const err = await failure(
      sb.custom.listNamespacedCustomObject({
        group: 'example.com',
        version: 'v1',
        plural: 'widgets',
        namespace: 'default',
      }),
    );
    expect(err.code).toBe(404);
    expect(err.status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
  });

  it('applies merge patches (null deletes a key) and JSON patches', async () => {
    await sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: { ...rollout('patchy'), metadata: { name: 'patchy', annotations: { keep: 'yes', drop: 'me' } } },
    });
    const merged = await sb.custom.patchNamespacedCustomObject(
      {
        ...ROLLOUTS,
        namespace: 'default',
        name: 'patchy',
        body: { metadata: { annotations: { drop: null, added: 'new' } }, spec: { steps: [{ weight: 10 }] } },
      },
      mergePatch,
    );
    expect(merged.metadata.annotations).toEqual({ keep: 'yes', added: 'new' });
    expect(merged.spec).toEqual({
      targetRef: { kind: 'Deployment', name: 'patchy' },
      steps: [{ weight: 10 }],
    });

    const jsonPatched = await sb.custom.patchNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'patchy',
      body: [
        { op: 'replace', path: '/spec/steps/0/weight', value: 20 },
        { op: 'add', path: '/spec/steps/-', value: { weight: 100 } },
      ],
    });
    expect(jsonPatched.spec.steps).toEqual([{ weight: 20 }, { weight: 100 }]);

    const failedTest = await failure(
      sb.custom.patchNamespacedCustomObject({
        ...ROLLOUTS,
        namespace: 'default',
        name: 'patchy',
        body: [{ op: 'test', path: '/spec/steps/0/weight', value: 99 }],
      }),
    );
    expect(failedTest.code).toBe(422);

    const apply = await failure(
      sb.apps.patchNamespacedDeployment(
        { namespace: 'default', name: 'anything', body: { spec: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
    expect(apply.code).toBe(415);
  });

  it('merges strategic patches on container names, as kubectl set image sends them', async () => {
    const body = deployment('smp', 'app:1');
    body.spec!.template.spec!.containers.push({
      name: 'sidecar',
      image: 'proxy:1',
      ports: [{ containerPort: 15001 }],
    });
    await sb.apps.createNamespacedDeployment({ namespace: 'default', body });
    const patched = await sb.apps.patchNamespacedDeployment(
      {
        namespace: 'default',
        name: 'smp',
        body: {
          spec: {
            template: {
              spec: {
                '$setElementOrder/containers': [{ name: 'app' }, { name: 'sidecar' }],
                containers: [{ name: 'app', image: 'app:2' }],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(patched.spec?.template.spec?.containers).toEqual([
      { name: 'app', image: 'app:2' },
      { name: 'sidecar', image: 'proxy:1', ports: [{ containerPort: 15001 }] },
    ]);
    expect(patched.metadata?.generation).toBe(2);
    const invalid = await failure(
      sb.apps.patchNamespacedDeployment({
        namespace: 'default',
        name: 'smp',
        body: [{ op: 'replace', path: '/spec/replicas', value: -1 }],
      }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.status.message).toContain('spec.replicas');
  });

  it('rejects a stale resourceVersion with 409 Conflict on PUT and on merge patch', async () => {
    const first = await sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: rollout('stale'),
    });
    await sb.custom.patchNamespacedCustomObject(
      {
        ...ROLLOUTS,
        namespace: 'default',
        name: 'stale',
        body: { metadata: { labels: { touched: 'yes' } } },
      },
      mergePatch,
    );
    const put = await failure(
      sb.custom.replaceNamespacedCustomObject({
        ...ROLLOUTS,
        namespace: 'default',
        name: 'stale',
        body: first,
      }),
    );
    expect(put.code).toBe(409);
    expect(put.status).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });

    const patch = await failure(
      sb.custom.patchNamespacedCustomObject(
        {
          ...ROLLOUTS,
          namespace: 'default',
          name: 'stale',
          body: { metadata: { resourceVersion: first.metadata.resourceVersion }, spec: { steps: [] } },
        },
        mergePatch,
      ),
    );
    expect(patch.code).toBe(409);
    expect(patch.status.reason).toBe('Conflict');
    const after = await sb.custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'stale',
    });
    expect(after.spec.steps).toBeUndefined();
  });

  it('bumps generation only for changes outside metadata and status', async () => {
    await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', body: rollout('gen') });
    const patch = (body: object) =>
      sb.custom.patchNamespacedCustomObject(
        { ...ROLLOUTS, namespace: 'default', name: 'gen', body },
        mergePatch,
      );
    expect((await patch({ metadata: { labels: { a: 'b' } } })).metadata.generation).toBe(1);
    expect((await patch({ spec: { progressDeadline: '5m' } })).metadata.generation).toBe(2);
    expect((await patch({ spec: { progressDeadline: '5m' } })).metadata.generation).toBe(2);
  });

  it('keeps status and spec apart for resources with a status subresource', async () => {
    const created = await sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: { ...rollout('iso'), status: { phase: 'Healthy' } },
    });
    expect(created.status).toBeUndefined();

    const withStatus = await sb.custom.patchNamespacedCustomObjectStatus(
      {
        ...ROLLOUTS,
        namespace: 'default',
        name: 'iso',
        body: { status: { phase: 'Progressing' }, spec: { targetRef: { name: 'ignored' } } },
      },
      mergePatch,
    );
    expect(withStatus.status).toEqual({ phase: 'Progressing' });
    expect(withStatus.spec.targetRef.name).toBe('iso');
    expect(withStatus.metadata.generation).toBe(1);

    const mainWrite = await sb.custom.patchNamespacedCustomObject(
      {
        ...ROLLOUTS,
        namespace: 'default',
        name: 'iso',
        body: { status: { phase: 'Failed' }, spec: { progressDeadline: '1m' } },
      },
      mergePatch,
    );
    expect(mainWrite.status).toEqual({ phase: 'Progressing' });
    expect(mainWrite.spec.progressDeadline).toBe('1m');

    const stale = await failure(
      sb.custom.patchNamespacedCustomObjectStatus(
        {
          ...ROLLOUTS,
          namespace: 'default',
          name: 'iso',
          body: {
            metadata: { resourceVersion: created.metadata.resourceVersion },
            status: { phase: 'Failed' },
          },
        },
        mergePatch,
      ),
    );
    expect(stale.code).toBe(409);

    const replacedStatus = await sb.custom.replaceNamespacedCustomObjectStatus({
      ...ROLLOUTS,
      namespace: 'default',
      name: 'iso',
      body: { ...mainWrite, status: { phase: 'Paused' } },
    });
    expect(replacedStatus.status).toEqual({ phase: 'Paused' });
  });

  it('serves the scale subresource of deployments', async () => {
    await sb.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('scaled', 'app:1', 2),
    });
    const scale = await sb.apps.readNamespacedDeploymentScale({ namespace: 'default', name: 'scaled' });
    expect(scale.spec?.replicas).toBe(2);
    expect(scale.status?.selector).toBe('app=scaled');

    scale.spec = { replicas: 4 };
    // Unconditional, as `kubectl scale` without --resource-version: the sandbox's Deployment controller may
    // have written status since the read, and a stale resourceVersion would be a (correct) 409.
    delete scale.metadata?.resourceVersion;
    const replaced = await sb.apps.replaceNamespacedDeploymentScale({
      namespace: 'default',
      name: 'scaled',
      body: scale,
    });
    expect(replaced.spec?.replicas).toBe(4);
    await sb.apps.patchNamespacedDeploymentScale(
      { namespace: 'default', name: 'scaled', body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    const read = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'scaled' });
    expect(read.spec?.replicas).toBe(1);
    expect(read.metadata?.generation).toBe(3);
  });

  it('filters lists by label and field selectors', async () => {
    const labelled: Array<{ name: string; labels: Record<string, string> }> = [
      { name: 'sel-a', labels: { tier: 'web', env: 'prod' } },
      { name: 'sel-b', labels: { tier: 'web', env: 'dev' } },
      { name: 'sel-c', labels: { tier: 'db' } },
    ];
    for (const { name, labels } of labelled) {
      await sb.core.createNamespacedConfigMap({
        namespace: 'selectors',
        body: { metadata: { name, labels } },
      });
    }
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await sb.core.listNamespacedConfigMap({ namespace: 'selectors', labelSelector, fieldSelector })).items
        .map((c) => c.metadata?.name)
        .sort();
    expect(await names('tier=web')).toEqual(['sel-a', 'sel-b']);
    expect(await names('tier==db')).toEqual(['sel-c']);
    expect(await names('env!=prod')).toEqual(['sel-b', 'sel-c']);
    expect(await names('env in (prod,dev),tier')).toEqual(['sel-a', 'sel-b']);
    expect(await names('env notin (dev)')).toEqual(['sel-a', 'sel-c']);
    expect(await names('env')).toEqual(['sel-a', 'sel-b']);
    expect(await names('!env')).toEqual(['sel-c']);
    expect(await names(undefined, 'metadata.name=sel-b')).toEqual(['sel-b']);
    expect(await names(undefined, 'metadata.name!=sel-b,metadata.namespace=selectors')).toEqual([
      'sel-a',
      'sel-c',
    ]);
    expect(
      (await failure(sb.core.listNamespacedConfigMap({ namespace: 'selectors', labelSelector: 'a=(' }))).code,
    ).toBe(400);
    const all = await sb.core.listConfigMapForAllNamespaces({ labelSelector: 'tier' });
    expect(all.items).toHaveLength(3);
  });

  it('deletes dependents after their owner (background garbage collection)', async () => {
    const owner = await sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      body: rollout('owner'),
    });
    const ownerRef = {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      name: 'owner',
      uid: owner.metadata.uid,
      controller: true,
    };
    const child = deployment('owner-stable', 'app:1');
    child.metadata!.ownerReferences = [ownerRef];
    await sb.apps.createNamespacedDeployment({ namespace: 'default', body: child });
    const kept = deployment('owner-kept', 'app:1');
    await sb.apps.createNamespacedDeployment({ namespace: 'default', body: kept });
    const created = await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'owner-stable' });
    expect(created.metadata?.ownerReferences?.[0]?.uid).toBe(owner.metadata.uid);

    await sb.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', name: 'owner' });
    await eventually(async () => {
      expect(
        (await failure(sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'owner-stable' })))
          .code,
      ).toBe(404);
    });
    expect(
      (await sb.apps.readNamespacedDeployment({ namespace: 'default', name: 'owner-kept' })).metadata?.name,
    ).toBe('owner-kept');
  });

  it('serves leases, services, secrets and events through the typed clients', async () => {
    const lease = await sb.coordination.createNamespacedLease({
      namespace: 'default',
      body: { metadata: { name: 'leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    lease.spec!.holderIdentity = 'b';
    const renewed = await sb.coordination.replaceNamespacedLease({
      namespace: 'default',
      name: 'leader',
      body: lease,
    });
    expect(renewed.spec?.holderIdentity).toBe('b');
    expect(
      (
        await failure(
          sb.coordination.replaceNamespacedLease({ namespace: 'default', name: 'leader', body: lease }),
        )
      ).code,
    ).toBe(409);

    await sb.core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'svc' }, spec: { selector: { app: 'svc' } } },
    });
    await sb.core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'token' }, stringData: { t: 'x' } },
    });
    const event = await sb.core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { generateName: 'shop.' },
        involvedObject: { kind: 'Rollout', name: 'shop' },
        reason: 'Started',
        message: 'm',
      },
    });
    expect(event.metadata?.name).toMatch(/^shop\./);
    expect(
      (await sb.core.readNamespacedService({ namespace: 'default', name: 'svc' })).spec?.selector,
    ).toEqual({ app: 'svc' });
    const ns = await sb.core.listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toContain('default');
  });

  it.skipIf(!existsSync('/usr/bin/kubectl'))(
    'works with kubectl get deployments -A and kubectl set image',
    async () => {
      await sb.apps.createNamespacedDeployment({
        namespace: 'kubectl',
        body: deployment('seen-by-kubectl', 'app:1'),
      });
      const dir = await mkdtemp(join(tmpdir(), 'sandbox-kubectl-'));
      try {
        const path = join(dir, 'kubeconfig');
        await sb.server.writeKubeconfig(path);
        const { stdout } = await promisify(execFile)(
          'kubectl',
          ['--kubeconfig', path, 'get', 'deployments', '-A'],
          {
            env: { ...process.env, HOME: dir },
          },
        );
        expect(stdout).toMatch(/NAMESPACE\s+NAME\s+READY/);
        expect(stdout).toMatch(/kubectl\s+seen-by-kubectl\s/);
        await promisify(execFile)(
          'kubectl',
          ['--kubeconfig', path, '-n', 'kubectl', 'set', 'image', 'deployment/seen-by-kubectl', 'app=app:2'],
          { env: { ...process.env, HOME: dir } },
        );
        const updated = await sb.apps.readNamespacedDeployment({
          namespace: 'kubectl',
          name: 'seen-by-kubectl',
        });
        expect(updated.spec?.template.spec?.containers).toEqual([{ name: 'app', image: 'app:2' }]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('sandbox API: in-process store', () => {
  it('gives tests direct access with the same rules, and its writes reach API clients', async () => {
    const { store } = sb.server;
    const created = store.create({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'shop', namespace: 'store' },
      spec: { host: 'shop' },
    });
    expect(created.metadata.resourceVersion).toBe(store.resourceVersion());
    const viaApi = await sb.custom.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'destinationrules',
      namespace: 'store',
      name: 'shop',
    });
    expect(viaApi.spec).toEqual({ host: 'shop' });

    const updated = store.update({ ...created, spec: { host: 'shop.store.svc' } });
    expect(updated.metadata.generation).toBe(2);
    expect(() => store.update(created)).toThrow(/the object has been modified/);
    expect(
      store.get({ apiVersion: 'networking.istio.io/v1beta1', resource: 'destinationrules' }, 'store', 'shop')
        ?.spec,
    ).toEqual({
      host: 'shop.store.svc',
    });
    expect(
      store.list({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' }, 'store'),
    ).toHaveLength(1);
    store.delete({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' }, 'store', 'shop');
    expect(
      store.get({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule' }, 'store', 'shop'),
    ).toBeUndefined();
    expect(() => store.get({ apiVersion: 'example.com/v1', kind: 'Widget' }, 'store', 'x')).toThrow(
      /does not serve/,
    );
  });
});
