// ResilientWatch against the sandbox API server: stalled watches, deletions missed while disconnected, sync.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResilientWatch, type KubeObject, type WatchEventType } from '../../src/kube/watch.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { eventually, rollout, ROLLOUTS, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const PATH = '/apis/stepwise.dev/v1alpha1/namespaces/default/rollouts';

describe('watching a collection', () => {
  let sandbox: Sandbox;
  const watches: ResilientWatch[] = [];
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => {
    for (const w of watches.splice(0)) w.stop();
    sandbox.server.faults.reset();
  });
  afterAll(() => sandbox?.server.close());

  async function listRollouts() {
    const list = (await sandbox.custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default' })) as {
      items: KubeObject[];
      metadata?: { resourceVersion?: string };
    };
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion };
  }

  function watch(options: { idleMs?: number } = {}) {
    const events: string[] = [];
    const requests: string[] = [];
    const w = new ResilientWatch(
      sandbox.kc,
      {
        name: 'rollouts in namespace default',
        path: PATH,
        list: listRollouts,
      },
      (type: WatchEventType, object: KubeObject) => events.push(`${type} ${object.metadata?.name}`),
      {
        logger: createLogger({ silent: true }),
        maxBackoffMs: 100,
        onRequest: (verb, code) => requests.push(`${verb} ${code}`),
        ...options,
      },
    );
    watches.push(w);
    return { w, events, requests };
  }
  const create = (name: string) =>
    sandbox.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', body: rollout(name) });
  const remove = (name: string) =>
    sandbox.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace: 'default', name });

  it('abandons a watch that received nothing within the idle limit and resumes, missing no event', async () => {
    sandbox.server.faults.stallNext(1, { verb: 'watch', resource: 'rollouts' });
    const { w, events } = watch({ idleMs: 300 });
    await w.start();
    await create('after-stall');
    await eventually(() => expect(events).toContain('ADDED after-stall'), 5_000);
    await remove('after-stall');
  });

  it('reports an object deleted while no watch was open as DELETED at the next list', async () => {
    await create('short-lived');
    const { w, events, requests } = watch();
    await w.start();
    expect(events).toEqual(['SYNC short-lived']);
    // Watches and lists fail, the open watch is cut: the deletion happens while the watch is down.
    sandbox.server.faults.failNext(1000, 500, { verb: ['watch', 'list'], resource: 'rollouts' });
    sandbox.server.faults.dropWatches({ resource: 'rollouts' });
    await eventually(() => expect(requests).toContain('list 500'));
    await remove('short-lived');
    sandbox.server.faults.reset();
    await eventually(() => expect(events).toEqual(['SYNC short-lived', 'DELETED short-lived']));
  });

  it('counts as synced only after a list succeeded, and says why not before', async () => {
    sandbox.server.faults.failNext(1000, 403, { verb: 'list', resource: 'rollouts' });
    const { w } = watch();
    await w.start();
    expect(w.hasSynced()).toBe(false);
    expect(w.waitingFor()).toMatch(
      /^the first list of rollouts in namespace default \(last error: 403: .*forbidden/,
    );
    sandbox.server.faults.reset();
    await eventually(() => expect(w.hasSynced()).toBe(true));
    expect(w.waitingFor()).toBeUndefined();
  });

  it('keeps no list alive while it watches: only what the events fed holds the objects', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let listed: WeakRef<object> | undefined;
    const requests: string[] = [];
    const w = new ResilientWatch(
      sandbox.kc,
      {
        name: 'rollouts in namespace default',
        path: PATH,
        list: async () => {
          const list = await listRollouts();
          listed = new WeakRef(list);
          return list;
        },
      },
      () => undefined,
      { logger: createLogger({ silent: true }), onRequest: (verb, code) => requests.push(`${verb} ${code}`) },
    );
    watches.push(w);
    await w.start();
    await eventually(() => expect(requests).toContain('watch 200'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(listed?.deref()).toBeUndefined();
  });
});
