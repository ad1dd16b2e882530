// Invalid input never changes traffic (DESIGN §3.6): each broken Rollout ends Failed with InvalidSpec naming
// the field, its VirtualService keeps the user's weights, and the controller keeps serving the good one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { controllerOnSandbox, DR, ROLLOUTS, VS, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';

type Json = Record<string, unknown>;

const deployment = (app: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: app, namespace: ns },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app } },
    template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image: `${app}:1` }] } },
  },
});

const virtualService = (app: string, routes?: Json[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: app, namespace: ns },
  spec: {
    hosts: [app],
    http: routes ?? [
      {
        name: 'primary',
        route: [
          { destination: { host: app, subset: 'stable' }, weight: 90 },
          { destination: { host: app, subset: 'canary' }, weight: 10 },
        ],
        retries: { attempts: 3, perTryTimeout: '2s' },
      },
    ],
  },
});

const destinationRule = (app: string, canaryLabels: Json = { 'stepwise.dev/track': 'canary' }) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: app, namespace: ns },
  spec: {
    host: app,
    subsets: [
      { name: 'stable', labels: { 'stepwise.dev/track': 'stable' } },
      { name: 'canary', labels: canaryLabels },
    ],
  },
});

const prometheus = { prometheus: { address: 'http://127.0.0.1:1' } };

const rolloutSpec = (app: string, extra: Json = {}) => ({
  targetRef: { name: app },
  trafficRouting: { istio: { virtualService: { name: app }, destinationRule: { name: app } } },
  analysis: prometheus,
  ...extra,
});

interface Case {
  app: string;
  spec?: Json;
  skip?: ('deployment' | 'vs' | 'dr')[];
  vsRoutes?: Json[];
  drCanaryLabels?: Json;
  /** The field the InvalidSpec message must name. */
  path: string;
}

const CASES: Case[] = [
  { app: 'steps-down', spec: { steps: [{ weight: 20 }, { weight: 10 }] }, path: 'spec.steps[1].weight' },
  { app: 'weight-high', spec: { steps: [{ weight: 50 }, { weight: 120 }] }, path: 'spec.steps[1].weight' },
  { app: 'weight-low', spec: { steps: [{ weight: 0 }] }, path: 'spec.steps[0].weight' },
  { app: 'no-target', skip: ['deployment'], path: 'spec.targetRef.name' },
  { app: 'no-vs', skip: ['vs'], path: 'spec.trafficRouting.istio.virtualService.name' },
  {
    app: 'no-route',
    spec: {
      trafficRouting: {
        istio: {
          virtualService: { name: 'no-route', routes: ['missing'] },
          destinationRule: { name: 'no-route' },
        },
      },
    },
    path: 'spec.trafficRouting.istio.virtualService.routes[0]',
  },
  {
    app: 'one-subset',
    vsRoutes: [{ route: [{ destination: { host: 'one-subset', subset: 'stable' }, weight: 100 }] }],
    path: 'spec.trafficRouting.istio.virtualService',
  },
  { app: 'no-dr', skip: ['dr'], path: 'spec.trafficRouting.istio.destinationRule.name' },
  {
    app: 'dr-subset-missing',
    spec: {
      trafficRouting: {
        istio: {
          virtualService: { name: 'dr-subset-missing' },
          destinationRule: { name: 'dr-subset-missing', canarySubset: 'preview' },
        },
      },
    },
    path: 'spec.trafficRouting.istio.destinationRule.canarySubset',
  },
  {
    app: 'dr-wrong-label',
    drCanaryLabels: { version: 'v2' },
    path: 'spec.trafficRouting.istio.destinationRule.canarySubset',
  },
  { app: 'negative-duration', spec: { progressDeadline: '-5m' }, path: 'spec.progressDeadline' },
  { app: 'bad-duration', spec: { analysis: { interval: 'soon' } }, path: 'spec.analysis.interval' },
  { app: 'unknown-field', spec: { stepz: [] }, path: 'spec.stepz' },
  {
    // With the controller's defaults no address may receive a Secret: a Rollout must not mail one to a URL of its choice.
    app: 'secret-to-any-url',
    spec: {
      analysis: {
        prometheus: {
          address: 'https://collector.example.com',
          bearerTokenSecretRef: { name: 'db-password', key: 'password' },
        },
      },
    },
    path: 'spec.analysis.prometheus.address',
  },
  {
    app: 'tiny-interval',
    spec: { analysis: { ...prometheus, interval: '1ms' } },
    path: 'spec.analysis.interval',
  },
  {
    // `{{` and 6,000 spaces once took 56 s of the event loop per pass, for every Rollout of the cluster.
    app: 'freezing-query',
    spec: { analysis: { ...prometheus, metrics: [{ name: 'm', max: 1, query: '{{' + ' '.repeat(6_000) }] } },
    path: 'spec.analysis.metrics[0].query',
  },
];

describe('a controller serving broken Rollouts next to a good one', () => {
  let sandbox: ControllerOnSandbox;
  const waitFor = (name: string, until: (s: RolloutStatus) => boolean) => sandbox.waitFor(name, until);

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 100);
    const { apps, custom } = sandbox;
    for (const c of [...CASES, { app: 'good', path: '' } as Case]) {
      if (!c.skip?.includes('deployment'))
        await apps.createNamespacedDeployment({ namespace: ns, body: deployment(c.app) });
      if (!c.skip?.includes('vs')) {
        await custom.createNamespacedCustomObject({
          ...VS,
          namespace: ns,
          body: virtualService(c.app, c.vsRoutes),
        });
      }
      if (!c.skip?.includes('dr')) {
        await custom.createNamespacedCustomObject({
          ...DR,
          namespace: ns,
          body: destinationRule(c.app, c.drCanaryLabels),
        });
      }
      await custom.createNamespacedCustomObject({
        ...ROLLOUTS,
        namespace: ns,
        body: {
          apiVersion: 'stepwise.dev/v1alpha1',
          kind: 'Rollout',
          metadata: { name: c.app },
          spec: rolloutSpec(c.app, c.spec),
        },
      });
    }
    await sandbox.start();
  }, 30_000);

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('adopts the good Rollout: stable created and 100% of the traffic routed to it', async () => {
    const s = await waitFor('good', (x) => x.phase === 'Healthy');
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const vs = (await sandbox.custom.getNamespacedCustomObject({ ...VS, namespace: ns, name: 'good' })) as {
      spec: { http: { route: { weight: number }[] }[] };
    };
    expect(vs.spec.http[0]!.route.map((d) => d.weight)).toEqual([100, 0]);
  });

  it.each(CASES)('marks $app Failed with InvalidSpec naming $path, and changes no traffic', async (c) => {
    const s = await waitFor(c.app, (x) => x.phase === 'Failed');
    expect(s.reason).toBe('InvalidSpec');
    expect(s.message).toContain(`${c.path}`);
    const condition = s.conditions?.find((x) => x.type === 'InvalidSpec');
    expect(condition).toMatchObject({ status: 'True' });
    expect(condition?.message).toContain(c.path);

    const stable = await sandbox.api.store.get(
      { apiVersion: 'apps/v1', kind: 'Deployment' },
      ns,
      `${c.app}-stable`,
    );
    expect(stable).toBeUndefined();
    if (!c.skip?.includes('vs')) {
      const vs = (await sandbox.custom.getNamespacedCustomObject({
        ...VS,
        namespace: ns,
        name: c.app,
      })) as Json;
      expect((vs as { spec: unknown }).spec).toEqual(virtualService(c.app, c.vsRoutes).spec);
    }
    // The sandbox filters events by metadata only, so pick this Rollout's events here.
    const events = await sandbox.core.listNamespacedEvent({ namespace: ns });
    const mine = events.items.filter((e) => e.involvedObject.name === c.app);
    expect(mine.some((e) => e.reason === 'InvalidSpec' && e.type === 'Warning')).toBe(true);
  });
});
