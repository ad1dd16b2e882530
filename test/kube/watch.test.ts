// ResilientWatch against the sandbox API server: stalled watches, deletions missed while disconnected, sync.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ResilientWatch,
  pageOf,
  pageParams,
  type KubeObject,
  type ListPageRequest,
  type WatchEventType,
} from '../../src/kube/watch.js';
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

  const pagesAsked: ListPageRequest[] = [];
  async function listRollouts(page: ListPageRequest) {
    pagesAsked.push(page);
    const list = (await sandbox.custom.listNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: 'default',
      ...pageParams(page),
    })) as { items: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };
    return { items: list.items, ...pageOf(list.metadata) };
  }

  function watch({
    list = listRollouts,
    ...options
  }: { idleMs?: number; pageSize?: number; resyncMs?: number; list?: typeof listRollouts } = {}) {
    const events: string[] = [];
    const requests: string[] = [];
    const w = new ResilientWatch(
      sandbox.kc,
      {
        name: 'rollouts in namespace default',
        path: PATH,
        list,
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

  it('lists in pages, all from one snapshot, and watches from its resourceVersion', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const name of names) await create(name);
    try {
      pagesAsked.length = 0;
      const { w, events, requests } = watch({ pageSize: 2 });
      await w.start();
      expect(pagesAsked.map((p) => p.limit)).toEqual([2, 2, 2]);
      expect(pagesAsked[0]!.continue).toBeUndefined();
      expect(pagesAsked[1]!.continue).toEqual(expect.any(String));
      expect(events).toEqual(names.map((name) => `SYNC ${name}`));
      expect(requests.filter((r) => r.startsWith('list'))).toEqual(['list 200', 'list 200', 'list 200']);
      // Watched from the snapshot: a change made now arrives as an event, not as a missed one.
      await remove('page-c');
      await eventually(() => expect(events).toContain('DELETED page-c'));
    } finally {
      for (const name of names) await remove(name).catch(() => undefined);
    }
  });

  it('starts the list over when its continue token expired (410), missing no object', async () => {
    const names = ['token-a', 'token-b', 'token-c'];
    for (const name of names) await create(name);
    try {
      const asked: string[] = [];
      let expireOnce = true;
      const events: string[] = [];
      const w = new ResilientWatch(
        sandbox.kc,
        {
          name: 'rollouts in namespace default',
          path: PATH,
          list: (page) => {
            asked.push(page.continue ? 'continue' : 'first');
            // The first continued page is sent with a token the server no longer keeps, as after compaction.
            if (page.continue && expireOnce) {
              expireOnce = false;
              const token = JSON.parse(Buffer.from(page.continue, 'base64url').toString()) as Record<
                string,
                unknown
              >;
              const gone = Buffer.from(JSON.stringify({ ...token, id: 'compacted' })).toString('base64url');
              return listRollouts({ ...page, continue: gone });
            }
            return listRollouts(page);
          },
        },
        (type, object) => events.push(`${type} ${object.metadata?.name}`),
        { logger: createLogger({ silent: true }), pageSize: 2, maxBackoffMs: 50 },
      );
      watches.push(w);
      await w.start();
      await eventually(() => expect(w.hasSynced()).toBe(true));
      expect(asked).toEqual(['first', 'continue', 'first', 'continue']);
      expect(new Set(events)).toEqual(new Set(names.map((name) => `SYNC ${name}`)));
      expect(events).not.toContainEqual(expect.stringMatching(/^DELETED/));
    } finally {
      for (const name of names) await remove(name).catch(() => undefined);
    }
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
        list: async (page) => {
          const list = await listRollouts(page);
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

  it('lists again periodically with the watch still open: changes meanwhile arrive at once, and are not undone', async () => {
    for (const name of ['steady', 'ghost']) await create(name);
    try {
      let listCalls = 0;
      let releaseList: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (releaseList = resolve));
      const { w, events, requests } = watch({
        resyncMs: 200,
        list: async (page) => {
          listCalls += 1;
          if (listCalls === 1) return listRollouts(page);
          // The periodic list takes its snapshot now and answers only once let go; it has lost 'ghost', as if
          // its deletion event had been missed.
          const snapshot = await listRollouts(page);
          await gate;
          return { ...snapshot, items: snapshot.items.filter((item) => item.metadata?.name !== 'ghost') };
        },
      });
      await w.start();
      await eventually(() => expect(listCalls).toBe(2));

      // While the periodic list is under way, the open watch delivers at once.
      await create('during-list');
      await remove('steady');
      await eventually(() =>
        expect(events).toEqual(expect.arrayContaining(['ADDED during-list', 'DELETED steady'])),
      );
      expect(requests.filter((r) => r.startsWith('watch'))).toEqual(['watch 200']);

      releaseList();
      await eventually(() => expect(events).toContain('DELETED ghost'));
      // The older snapshot neither brought back what the watch saw deleted nor dropped what it saw created.
      const afterRelease = events.slice(events.indexOf('DELETED steady') + 1);
      expect(afterRelease).not.toContain('SYNC steady');
      expect(afterRelease).not.toContain('DELETED during-list');
      expect(requests.filter((r) => r.startsWith('watch'))).toEqual(['watch 200']);
    } finally {
      for (const name of ['steady', 'ghost', 'during-list']) await remove(name).catch(() => undefined);
    }
  });
});
