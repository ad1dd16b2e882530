// What Stepwise relies on from the Kubernetes API, pinned once and run against both servers: the in-memory
// sandbox (always) and a real kube-apiserver with the chart's CRD (in the cluster tier, `npm run test:cluster`).
// A behaviour that holds on one and not the other is a sandbox bug, or a documented difference.
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  V1MicroTime,
  Watch,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customSource, deploymentSource } from '../../src/controller/watch-sources.js';
import { CLUSTER_TIER, kubeApiServer, sandboxServer, type ContractServer } from './servers.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

type Rollout = {
  metadata: { name: string; resourceVersion?: string; generation?: number; namespace?: string };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
};

const rollout = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'stepwise.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name },
  spec: {
    targetRef: { kind: 'Deployment', name },
    trafficRouting: { istio: { virtualService: { name }, destinationRule: { name } } },
    ...spec,
  },
});

const deployment = (name: string, labels: Record<string, string>, replicas = 1): V1Deployment => ({
  metadata: { name, labels },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, ...labels } },
      spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:v1` }] },
    },
  },
});

/** The HTTP code and Status body of a call that must fail. */
async function failure(call: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
    return { code: error.code, status: body as Record<string, unknown> };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The events of one watch request until it ends or `untilType` arrives (bounded by `timeoutMs`). */
async function watchEvents(
  server: ContractServer,
  path: string,
  params: Record<string, string | number | boolean>,
  untilType: string,
  timeoutMs: number,
): Promise<{ type: string; object: Record<string, unknown> }[]> {
  const events: { type: string; object: Record<string, unknown> }[] = [];
  let abort: AbortController | undefined;
  let finish: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finish = resolve));
  const timer = setTimeout(finish, timeoutMs);
  abort = await new Watch(server.kubeConfig).watch(
    path,
    params,
    (type: string, object: Record<string, unknown>) => {
      events.push({ type, object });
      if (type === untilType) finish();
    },
    () => finish(),
  );
  await ended;
  clearTimeout(timer);
  abort.abort();
  abort = undefined;
  return events;
}

const servers: [string, () => Promise<ContractServer>][] = [['sandbox', sandboxServer]];
if (CLUSTER_TIER) servers.push(['kube-apiserver', kubeApiServer]);

describe.each(servers)('the Kubernetes API the controller relies on (%s)', (_name, start) => {
  let server: ContractServer;
  let custom: CustomObjectsApi;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let coordination: CoordinationV1Api;
  let namespace: string;

  beforeAll(async () => {
    server = await start();
    custom = server.kubeConfig.makeApiClient(CustomObjectsApi);
    apps = server.kubeConfig.makeApiClient(AppsV1Api);
    core = server.kubeConfig.makeApiClient(CoreV1Api);
    coordination = server.kubeConfig.makeApiClient(CoordinationV1Api);
    namespace = await server.namespace();
  }, 240_000);
  afterAll(async () => {
    await server?.close();
  });

  const createRollout = async (name: string, spec: Record<string, unknown> = {}) =>
    (await custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace,
      body: rollout(name, spec),
    })) as Rollout;
  const getRollout = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name })) as Rollout;
  const patchStatus = (name: string, body: Record<string, unknown>) =>
    custom.patchNamespacedCustomObjectStatus(
      { ...ROLLOUTS, namespace, name, body },
      mergePatch,
    ) as Promise<Rollout>;

  it('answers 409 Conflict to a replace or a merge patch that carries a stale resourceVersion', async () => {
    const created = await createRollout('stale');
    const stale = created.metadata.resourceVersion;
    await patchStatus('stale', { status: { phase: 'Progressing' } });
    const replaced = await failure(
      custom.replaceNamespacedCustomObject({
        ...ROLLOUTS,
        namespace,
        name: 'stale',
        body: { ...created, spec: { ...created.spec, progressDeadline: '5m' } },
      }),
    );
    expect(replaced.code).toBe(409);
    expect(replaced.status.reason).toBe('Conflict');
    const patched = await failure(
      patchStatus('stale', { metadata: { resourceVersion: stale }, status: { phase: 'Healthy' } }),
    );
    expect(patched.code).toBe(409);
    expect((await getRollout('stale')).status?.phase).toBe('Progressing');
  });

  it('merges a JSON merge patch into a custom resource and refuses a strategic merge patch with 415', async () => {
    await createRollout('merge', { steps: [{ weight: 10 }] });
    const routes = (value: unknown) => ({
      spec: { trafficRouting: { istio: { virtualService: { routes: value } } } },
    });
    const patched = (await custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace, name: 'merge', body: routes(['primary']) },
      mergePatch,
    )) as Rollout;
    expect(patched.spec).toMatchObject({
      steps: [{ weight: 10 }],
      trafficRouting: { istio: { virtualService: { name: 'merge', routes: ['primary'] } } },
    });
    const removed = (await custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace, name: 'merge', body: routes(null) },
      mergePatch,
    )) as Rollout;
    expect(removed.spec).toMatchObject({ trafficRouting: { istio: { virtualService: { name: 'merge' } } } });
    expect(removed.spec).not.toHaveProperty('trafficRouting.istio.virtualService.routes');
    const strategic = await failure(
      custom.patchNamespacedCustomObject(
        { ...ROLLOUTS, namespace, name: 'merge', body: { spec: { progressDeadline: '5m' } } },
        strategicPatch,
      ),
    );
    expect(strategic.code).toBe(415);
  });

  it('keeps status and spec apart: the main resource ignores status, /status ignores spec', async () => {
    const created = (await custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace,
      body: { ...rollout('split'), status: { phase: 'Healthy' } },
    })) as Rollout;
    expect(created.status).toBeUndefined();
    const viaStatus = await patchStatus('split', {
      spec: { progressDeadline: '5m' },
      status: { phase: 'Progressing' },
    });
    expect(viaStatus.status?.phase).toBe('Progressing');
    expect(viaStatus.spec.progressDeadline).not.toBe('5m');
    const viaMain = (await custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace, name: 'split', body: { status: { phase: 'Failed' } } },
      mergePatch,
    )) as Rollout;
    expect(viaMain.status?.phase).toBe('Progressing');
  });

  it('bumps metadata.generation on a spec change only, not on status or label changes', async () => {
    const created = await createRollout('generation');
    expect(created.metadata.generation).toBe(1);
    await patchStatus('generation', { status: { phase: 'Progressing' } });
    await custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace, name: 'generation', body: { metadata: { labels: { team: 'shop' } } } },
      mergePatch,
    );
    expect((await getRollout('generation')).metadata.generation).toBe(1);
    await custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace, name: 'generation', body: { spec: { progressDeadline: '5m' } } },
      mergePatch,
    );
    expect((await getRollout('generation')).metadata.generation).toBe(2);
  });

  it('prunes spec fields the CRD schema does not declare, and keeps the status it preserves', async () => {
    await createRollout('prune', { notAField: 'dropped', steps: [{ weight: 10, extra: 1 }] });
    await patchStatus('prune', { status: { phase: 'Progressing', anything: { kept: true } } });
    const stored = await getRollout('prune');
    expect(stored.status).toMatchObject({ phase: 'Progressing', anything: { kept: true } });
    if (server.name === 'sandbox') {
      // Known difference: the sandbox keeps undeclared fields, so the controller's own unknown-field
      // check (status Invalid, naming the field) can be exercised; a real API server drops them first.
      expect(stored.spec).toMatchObject({ notAField: 'dropped', steps: [{ weight: 10, extra: 1 }] });
      return;
    }
    expect(stored.spec).not.toHaveProperty('notAField');
    expect(stored.spec.steps).toEqual([{ weight: 10 }]);
  });

  it('rejects an invalid object with 422 and names the field in details.causes', async () => {
    const rejected = await failure(
      apps.createNamespacedDeployment({ namespace, body: deployment('negative', {}, -1) }),
    );
    expect(rejected.code).toBe(422);
    expect(rejected.status.reason).toBe('Invalid');
    const causes = (rejected.status.details as { causes?: { field?: string }[] } | undefined)?.causes ?? [];
    expect(causes.map((c) => c.field)).toContain('spec.replicas');
  });

  it('watches from a resourceVersion it no longer keeps end with a 410 Expired event; a relist can be watched from', async () => {
    await createRollout('watched');
    const path = `/apis/stepwise.dev/v1alpha1/namespaces/${namespace}/rollouts`;
    const old = await server.tooOldResourceVersion();
    const expired = await watchEvents(server, path, { resourceVersion: old }, 'ERROR', 10_000);
    expect(expired.at(-1)?.type).toBe('ERROR');
    expect(expired.at(-1)?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });

    const list = (await custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace })) as {
      metadata: { resourceVersion: string };
    };
    const watching = watchEvents(
      server,
      path,
      { resourceVersion: list.metadata.resourceVersion },
      'ADDED',
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await createRollout('after-relist');
    const events = await watching;
    expect(events.map((e) => [e.type, (e.object.metadata as { name?: string }).name])).toContainEqual([
      'ADDED',
      'after-relist',
    ]);
  });

  it('sends a BOOKMARK before a watch with timeoutSeconds ends, carrying progress made outside the watch', async () => {
    const path = `/apis/stepwise.dev/v1alpha1/namespaces/${namespace}/rollouts`;
    const list = (await custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace })) as {
      metadata: { resourceVersion: string };
    };
    const watching = watchEvents(
      server,
      path,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 5 },
      'BOOKMARK',
      10_000,
    );
    // A write this watch does not see (another namespace) moves the resourceVersion on.
    const elsewhere = await server.namespace();
    const other = (await custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: elsewhere,
      body: rollout('elsewhere'),
    })) as Rollout;
    const events = await watching;
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark, `a BOOKMARK before the watch timed out; got ${JSON.stringify(events)}`).toBeDefined();
    expect(events.filter((e) => e.type !== 'BOOKMARK')).toEqual([]);
    const rv = (bookmark?.object.metadata as { resourceVersion?: string }).resourceVersion;
    expect(BigInt(rv ?? '0')).toBeGreaterThanOrEqual(BigInt(other.metadata.resourceVersion ?? '0'));
  }, 15_000);

  it('lists by equality and set-based label selectors', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('shop-stable', { track: 'stable' }),
    });
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('shop-canary', { track: 'canary' }),
    });
    await apps.createNamespacedDeployment({ namespace, body: deployment('other', {}) });
    const names = async (labelSelector: string) =>
      (await apps.listNamespacedDeployment({ namespace, labelSelector })).items
        .map((d) => d.metadata?.name)
        .sort();
    expect(await names('track=canary')).toEqual(['shop-canary']);
    expect(await names('track in (stable,canary)')).toEqual(['shop-canary', 'shop-stable']);
    expect(await names('track,track!=stable')).toEqual(['shop-canary']);
    expect(await names('!track')).toEqual(['other']);
  });

  it("lists in pages through the controller's own watch sources, every page from the first page's snapshot", async () => {
    const names = ['paged-a', 'paged-b', 'paged-c'];
    for (const name of names) {
      await createRollout(name);
      await apps.createNamespacedDeployment({ namespace, body: deployment(name, { paged: 'yes' }) });
    }
    const sources = [customSource(ROLLOUTS, custom, namespace), deploymentSource(apps, namespace)];
    for (const source of sources) {
      const first = await source.list({ limit: 1 });
      expect(first.items).toHaveLength(1);
      expect(first.continue).toEqual(expect.any(String));
      // A change between pages is not in this list; a watch from its resourceVersion brings it.
      await (source === sources[0]
        ? createRollout(`late-${first.items[0]!.metadata!.name}`)
        : apps.createNamespacedDeployment({ namespace, body: deployment('paged-late', {}) }));
      const rest = [];
      let page = first;
      while (page.continue) {
        page = await source.list({ limit: 1, continue: page.continue });
        expect(page.resourceVersion).toBe(first.resourceVersion);
        rest.push(...page.items);
      }
      const listed = [...first.items, ...rest].map((o) => o.metadata!.name!);
      expect(listed.filter((n) => n.startsWith('paged-'))).toEqual(names);
      expect(listed.some((n) => n.startsWith('late-') || n === 'paged-late')).toBe(false);
    }
    // A continue token that is not one is refused (an expired one is 410; see the sandbox's tests of expiry).
    const refused = await failure(sources[1]!.list({ limit: 1, continue: 'not-a-token' }));
    expect(refused.code).toBe(400);
  });

  it('stores core v1 Events that reference the Rollout they are about', async () => {
    const involved = await createRollout('evented');
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: 'evented.' },
        involvedObject: {
          apiVersion: 'stepwise.dev/v1alpha1',
          kind: 'Rollout',
          name: 'evented',
          namespace,
          uid: (involved.metadata as { uid?: string }).uid,
        },
        reason: 'StepPassed',
        message: 'step 1 passed',
        type: 'Normal',
        source: { component: 'stepwise' },
        firstTimestamp: new Date(),
        lastTimestamp: new Date(),
        count: 1,
      },
    });
    const events = await core.listNamespacedEvent({ namespace });
    const about = events.items.filter(
      (e) => e.involvedObject.kind === 'Rollout' && e.involvedObject.name === 'evented',
    );
    expect(about.map((e) => [e.reason, e.message, e.involvedObject.uid])).toEqual([
      ['StepPassed', 'step 1 passed', (involved.metadata as { uid?: string }).uid],
    ]);
  });

  it('creates a Lease once, and refuses a second holder racing on a stale resourceVersion', async () => {
    const body = {
      metadata: { name: 'stepwise-leader' },
      spec: {
        holderIdentity: 'a',
        leaseDurationSeconds: 15,
        acquireTime: new V1MicroTime(),
        renewTime: new V1MicroTime(),
      },
    };
    const lease = await coordination.createNamespacedLease({ namespace, body });
    expect((await failure(coordination.createNamespacedLease({ namespace, body }))).code).toBe(409);
    await coordination.replaceNamespacedLease({
      namespace,
      name: 'stepwise-leader',
      body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime() } },
    });
    const racing = await failure(
      coordination.replaceNamespacedLease({
        namespace,
        name: 'stepwise-leader',
        body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } },
      }),
    );
    expect(racing.code).toBe(409);
    const held = await coordination.readNamespacedLease({ namespace, name: 'stepwise-leader' });
    expect(held.spec?.holderIdentity).toBe('a');
  });

  it('refuses Lease times that are not MicroTime (six fractional digits) with 400', async () => {
    const refused = await failure(
      coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: 'millis' },
          spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date() },
        },
      }),
    );
    expect(refused.code).toBe(400);
  });
});
