import { makeInformer, Watch } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSandbox } from './apiserver-fixture.js';
import type { Sandbox } from './apiserver-fixture.js';

interface Seen {
  type: string;
  name?: string;
  code?: number;
  reason?: string;
  resourceVersion?: string;
}

/** Opens a client-node watch and records its events; `done` resolves when the stream ends. */
async function record(sb: Sandbox, path: string, query: Record<string, string>) {
  const events: Seen[] = [];
  let finish: (err: unknown) => void = () => {};
  const done = new Promise<unknown>((resolve) => {
    finish = resolve;
  });
  const controller = await new Watch(sb.kc).watch(
    path,
    query,
    (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string }) =>
      events.push({
        type,
        name: obj.metadata?.name,
        code: obj.code,
        reason: obj.reason,
        resourceVersion: obj.metadata?.resourceVersion,
      }),
    (err) => finish(err),
  );
  return { events, done, stop: () => controller.abort() };
}

const configMap = (name: string, labels: Record<string, string> = {}): V1ConfigMap => ({
  metadata: { name, labels },
  data: { v: '1' },
});

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ watchHistory: 20 });
});
afterAll(async () => {
  await sb.server.close();
});

describe('sandbox API: watches', () => {
  it('streams ADDED, MODIFIED and DELETED in order', async () => {
    const start =
      (await sb.core.listNamespacedConfigMap({ namespace: 'w1' })).metadata?.resourceVersion ?? '';
    const watch = await record(sb, '/api/v1/namespaces/w1/configmaps', { resourceVersion: start });
    await sb.core.createNamespacedConfigMap({ namespace: 'w1', body: configMap('a') });
    await sb.core.patchNamespacedConfigMap({
      namespace: 'w1',
      name: 'a',
      body: [{ op: 'add', path: '/data/x', value: '2' }],
    });
    await sb.core.deleteNamespacedConfigMap({ namespace: 'w1', name: 'a' });
    await eventually(() => expect(watch.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']));
    const versions = watch.events.map((e) => Number(e.resourceVersion));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    watch.stop();
  });

  it('starts with the current objects when no resourceVersion is given, and filters by label', async () => {
    await sb.core.createNamespacedConfigMap({ namespace: 'w2', body: configMap('old', { team: 'a' }) });
    await sb.core.createNamespacedConfigMap({ namespace: 'w2', body: configMap('other', { team: 'b' }) });
    const watch = await record(sb, '/api/v1/namespaces/w2/configmaps', { labelSelector: 'team=a' });
    await sb.core.createNamespacedConfigMap({ namespace: 'w2', body: configMap('new', { team: 'a' }) });
    await sb.core.createNamespacedConfigMap({ namespace: 'w2', body: configMap('ignored', { team: 'b' }) });
    // Relabelling takes the object out of the selection: the watch sees it as deleted.
    await sb.core.patchNamespacedConfigMap({
      namespace: 'w2',
      name: 'old',
      body: [{ op: 'replace', path: '/metadata/labels/team', value: 'b' }],
    });
    await eventually(() =>
      expect(watch.events.map((e) => `${e.type} ${e.name}`)).toEqual([
        'ADDED old',
        'ADDED new',
        'DELETED old',
      ]),
    );
    watch.stop();
  });

  it('resumes from a resourceVersion, replaying later events', async () => {
    const first = await sb.core.createNamespacedConfigMap({ namespace: 'w3', body: configMap('one') });
    await sb.core.createNamespacedConfigMap({ namespace: 'w3', body: configMap('two') });
    await sb.core.deleteNamespacedConfigMap({ namespace: 'w3', name: 'one' });
    const watch = await record(sb, '/api/v1/namespaces/w3/configmaps', {
      resourceVersion: first.metadata?.resourceVersion ?? '',
    });
    await eventually(() =>
      expect(watch.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED two', 'DELETED one']),
    );
    watch.stop();
  });

  it('sends an ERROR event with a 410 Status for a resourceVersion older than the history', async () => {
    const old = await sb.core.createNamespacedConfigMap({ namespace: 'w4', body: configMap('old') });
    for (let i = 0; i < 25; i++) {
      await sb.core.patchNamespacedConfigMap({
        namespace: 'w4',
        name: 'old',
        body: [{ op: 'replace', path: '/data/v', value: String(i) }],
      });
    }
    const watch = await record(sb, '/api/v1/namespaces/w4/configmaps', {
      resourceVersion: old.metadata?.resourceVersion ?? '',
    });
    expect(await watch.done).toBeNull();
    expect(watch.events).toEqual([expect.objectContaining({ type: 'ERROR', code: 410, reason: 'Expired' })]);
  });

  it('ends a watch after timeoutSeconds', async () => {
    const watch = await record(sb, '/api/v1/namespaces/w5/configmaps', { timeoutSeconds: '1' });
    expect(await watch.done).toBeNull();
    expect(watch.events).toEqual([]);
  });

  it('feeds an informer that keeps its cache right across dropped watches and forgotten history', async () => {
    let lists = 0;
    const list = () => {
      lists++;
      return sb.core.listNamespacedConfigMap({ namespace: 'inf' });
    };
    const informer = makeInformer(sb.kc, '/api/v1/namespaces/inf/configmaps', list);
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    informer.on('error', (err) => errors.push(err));
    await sb.core.createNamespacedConfigMap({ namespace: 'inf', body: configMap('before') });
    await informer.start();
    await eventually(() => expect(seen).toContain('add before'));

    await sb.core.createNamespacedConfigMap({ namespace: 'inf', body: configMap('live') });
    await eventually(() => expect(seen).toContain('add live'));

    expect(sb.server.faults.dropWatches({ resource: 'configmaps' })).toBeGreaterThan(0);
    await sb.core.patchNamespacedConfigMap({
      namespace: 'inf',
      name: 'live',
      body: [{ op: 'replace', path: '/data/v', value: '2' }],
    });
    await eventually(() => expect(seen).toContain('update live'));
    expect(lists).toBe(1);

    // The deletion happens while the informer reconnects (slowed down), then the history is forgotten:
    // the resumed watch gets 410 and only a relist can reveal the deletion.
    sb.server.faults.addLatency(300, { verb: 'watch', resource: 'configmaps' });
    sb.server.faults.dropWatches();
    await sb.core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'before' });
    sb.server.faults.forgetHistory();
    await eventually(() => expect(seen).toContain('delete before'), 8000);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['live']);
    expect(lists).toBe(2);
    expect(errors).toEqual([]);
    await informer.stop();
    sb.server.faults.reset();
  });
});
