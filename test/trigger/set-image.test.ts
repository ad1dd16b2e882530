import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/kube/cluster.js';
import { setRolloutImage, TriggerError } from '../../src/trigger/set-image.js';
import { revisionOf } from '../../src/workload/revision.js';
import { deployment, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts', namespace: 'default' };

describe('setting the image of a Rollout target', () => {
  let sandbox: Sandbox;
  let cluster: Cluster;

  beforeAll(async () => {
    sandbox = await startSandbox();
    cluster = new Cluster(sandbox.kc);
    const multi = deployment('multi', 'reg.io/app:1');
    multi.spec!.template.spec!.containers.push({ name: 'proxy', image: 'reg.io/proxy:1' });
    await sandbox.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('single', 'reg.io/app:1'),
    });
    await sandbox.apps.createNamespacedDeployment({ namespace: 'default', body: multi });
    for (const name of ['single', 'multi']) {
      await sandbox.custom.createNamespacedCustomObject({
        ...ROLLOUTS,
        body: {
          apiVersion: 'stepwise.dev/v1alpha1',
          kind: 'Rollout',
          metadata: { name },
          spec: { targetRef: { name } },
        },
      });
    }
  });
  afterAll(() => sandbox?.server.close());

  const read = (name: string) => sandbox.apps.readNamespacedDeployment({ namespace: 'default', name });

  it('needs no container name for a single container and returns the revision of the new template', async () => {
    const result = await setRolloutImage(cluster, 'default', 'single', { image: 'reg.io/app:2' });
    const target = await read('single');
    expect(target.spec!.template.spec!.containers[0]!.image).toBe('reg.io/app:2');
    expect(result).toMatchObject({ changed: true, container: 'app', previousImage: 'reg.io/app:1' });
    expect(result.revision).toBe(revisionOf(target.spec!.template));
  });

  it('writes nothing when the image is already set (no restart)', async () => {
    // generation moves with spec changes only (the sandbox's Deployment controller keeps writing status).
    const before = (await read('single')).metadata!.generation;
    const result = await setRolloutImage(cluster, 'default', 'single', {
      container: 'app',
      image: 'reg.io/app:2',
    });
    expect(result.changed).toBe(false);
    expect((await read('single')).metadata!.generation).toBe(before);
  });

  it('names the containers when the choice is ambiguous or wrong, and changes only the named one', async () => {
    await expect(setRolloutImage(cluster, 'default', 'multi', { image: 'reg.io/app:2' })).rejects.toThrow(
      'Deployment multi has several containers (app, proxy); name one: --image <container>=<image>',
    );
    await expect(
      setRolloutImage(cluster, 'default', 'multi', { container: 'web', image: 'x:1' }),
    ).rejects.toThrow('Deployment multi has no container web; its containers are app, proxy');
    await setRolloutImage(cluster, 'default', 'multi', { container: 'proxy', image: 'reg.io/proxy:2' });
    expect((await read('multi')).spec!.template.spec!.containers.map((c) => c.image)).toEqual([
      'reg.io/app:1',
      'reg.io/proxy:2',
    ]);
  });

  it.each([
    'repo@',
    'repo:',
    'repo@sha256:',
    'reg.io/app:1.3.0@evil.example.com/x:latest',
    'reg.io/app:1\u0000',
    `reg.io/app:${'9'.repeat(5000)}`,
  ])('refuses the malformed image %j as invalid and writes nothing', async (image) => {
    const before = (await read('single')).metadata!.generation;
    const error = await setRolloutImage(cluster, 'default', 'single', { image }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TriggerError);
    expect((error as TriggerError).kind).toBe('invalid');
    expect((error as TriggerError).message).toMatch(/^image ".*"…? is not a valid image reference: /);
    expect((await read('single')).metadata!.generation).toBe(before);
  });

  it('says which object is missing', async () => {
    const error = await setRolloutImage(cluster, 'default', 'ghost', { image: 'x:1' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TriggerError);
    expect((error as TriggerError).kind).toBe('notFound');
  });
});
