// A Rollout that reads Istio ambient's metrics (reporter="waypoint") refuses to start while the Service its HTTPRoute
// is attached to uses no waypoint, saying how to add one, and starts once it does: on the sandbox API server.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waypointProblem } from '../../src/traffic/ambient-waypoint.js';
import { controllerOnSandbox, rolloutSpec, type ControllerOnSandbox } from './fixture.js';

const ns = 'shop';
// A merge patch, as kubectl label and annotate send.
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };

describe('the ambient waypoint check before a release', () => {
  let sandbox: ControllerOnSandbox;

  beforeAll(async () => {
    sandbox = await controllerOnSandbox(ns, 200);
    await sandbox.createDeployment('cart', 1, [{ containerPort: 8080 }]);
    await sandbox.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'cart' }, spec: { selector: { app: 'cart' }, ports: [{ port: 80 }] } },
    });
    await sandbox.createHttpRoute('cart', {
      parentRefs: [{ group: '', kind: 'Service', name: 'cart', port: 80 }],
      rules: [
        {
          backendRefs: [
            { name: 'cart-stable', port: 80, weight: 100 },
            { name: 'cart-canary', port: 80, weight: 0 },
          ],
        },
      ],
    });
    const spec = rolloutSpec('cart') as { trafficRouting: unknown; analysis?: object };
    await sandbox.createRollout('cart', {
      ...spec,
      trafficRouting: { gatewayAPI: { httpRoute: { name: 'cart' } } },
      analysis: { ...spec.analysis, metricsProvider: 'istio-ambient' },
    });
    await sandbox.start();
  }, 30_000);

  afterAll(() => sandbox?.stop());

  it('refuses a Service without a waypoint, saying how to add one, and touches nothing', async () => {
    const s = await sandbox.waitFor('cart', (x) => x.phase === 'Failed' || x.phase === 'Healthy');
    expect(s.phase).toBe('Failed');
    expect(s.message).toContain(
      'spec.analysis.metricsProvider: Service "cart" uses no waypoint (no istio.io/use-waypoint label, no istio.io/WaypointBound condition)',
    );
    expect(s.message).toContain('istioctl waypoint apply -n shop --enroll-namespace');
    const deployments = await sandbox.apps.listNamespacedDeployment({ namespace: ns });
    expect(deployments.items.map((d) => d.metadata?.name)).toEqual(['cart']);
  });

  it('starts once the Service uses a waypoint', async () => {
    await sandbox.core.patchNamespacedService(
      {
        namespace: ns,
        name: 'cart',
        body: { metadata: { labels: { 'istio.io/use-waypoint': 'waypoint' } } },
      },
      mergePatch,
    );
    // The Service is not watched: a change to the Rollout brings the next pass at once.
    await sandbox.custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace: ns, name: 'cart', body: { metadata: { annotations: { touched: '1' } } } },
      mergePatch,
    );
    const s = await sandbox.waitFor('cart', (x) => x.phase === 'Healthy');
    expect(s.phase).toBe('Healthy');
  });
});

describe('whether a Service is bound to a waypoint', () => {
  const service = (extra: object) => ({ metadata: { name: 'cart' }, ...extra });

  it('trusts Istio’s istio.io/WaypointBound condition when it is True', () => {
    const bound = { status: { conditions: [{ type: 'istio.io/WaypointBound', status: 'True' }] } };
    expect(waypointProblem(service(bound), 'shop', 'cart')).toBeUndefined();
  });

  it('refuses a Service Istio says it could not bind, with Istio’s reason', () => {
    const unbound = {
      metadata: { name: 'cart', labels: { 'istio.io/use-waypoint': 'gone' } },
      status: {
        conditions: [
          {
            type: 'istio.io/WaypointBound',
            status: 'False',
            reason: 'WaypointNotFound',
            message: 'waypoint shop/gone not found',
          },
        ],
      },
    };
    expect(waypointProblem(unbound, 'shop', 'cart')).toMatch(
      /^Service "cart" is not bound to a waypoint \(istio\.io\/WaypointBound WaypointNotFound: waypoint shop\/gone not found\); .*istioctl waypoint apply -n shop --enroll-namespace/,
    );
  });

  it('refuses a Service that opted out with istio.io/use-waypoint: none', () => {
    const optedOut = { metadata: { name: 'cart', labels: { 'istio.io/use-waypoint': 'none' } } };
    expect(waypointProblem(optedOut, 'shop', 'cart')).toMatch(/^Service "cart" uses no waypoint/);
  });
});
