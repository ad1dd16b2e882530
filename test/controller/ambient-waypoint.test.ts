// A Rollout that reads Istio ambient's metrics (reporter="waypoint") refuses to start while the Service its HTTPRoute
// is attached to uses no waypoint, saying how to add one, and starts once it does: on the sandbox API server.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waypointProblem, waypointProblems } from '../../src/traffic/ambient-waypoint.js';
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
      'spec.analysis.metricsProvider: Service "cart" uses no waypoint (no istio.io/use-waypoint label on it or its namespace, no istio.io/WaypointBound condition)',
    );
    expect(s.message).toContain('istioctl waypoint apply -n shop --enroll-namespace');
    const deployments = await sandbox.apps.listNamespacedDeployment({ namespace: ns });
    expect(deployments.items.map((d) => d.metadata?.name)).toEqual(['cart']);
  });

  it('starts once its namespace uses a waypoint, with no label on the Service (Istio 1.22/1.23 write no condition)', async () => {
    await sandbox.core.createNamespace({
      body: { metadata: { name: ns, labels: { 'istio.io/use-waypoint': 'waypoint' } } },
    });
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

  it('refuses a Service Istio could not bind even when its namespace names a waypoint', () => {
    const unbound = {
      metadata: { name: 'cart' },
      status: {
        conditions: [
          {
            type: 'istio.io/WaypointBound',
            status: 'False',
            reason: 'WaypointIsNotReady',
            message: 'not ready',
          },
        ],
      },
    };
    const labelled = { labels: { 'istio.io/use-waypoint': 'waypoint' } };
    expect(waypointProblem(unbound, 'shop', 'cart', labelled)).toMatch(
      /^Service "cart" is not bound to a waypoint \(istio\.io\/WaypointBound WaypointIsNotReady: not ready\)/,
    );
  });

  // Istio before 1.24 (and 1.24+ with AMBIENT_ENABLE_STATUS off) writes no condition: the labels decide, as
  // fetchWaypointForTarget (pilot/pkg/serviceregistry/kube/controller/ambient/waypoints.go) reads them.
  it('accepts a Service labelled with a waypoint when Istio wrote no condition', () => {
    const labelled = service({ metadata: { name: 'cart', labels: { 'istio.io/use-waypoint': 'waypoint' } } });
    expect(waypointProblem(labelled, 'shop', 'cart')).toBeUndefined();
  });

  it('accepts a Service without a label when its namespace names a waypoint', () => {
    const namespace = { labels: { 'istio.io/use-waypoint': 'waypoint' } };
    expect(waypointProblem(service({}), 'shop', 'cart', namespace)).toBeUndefined();
  });

  it('refuses a Service that opts out with istio.io/use-waypoint: none, whatever its namespace names', () => {
    const optedOut = { metadata: { name: 'cart', labels: { 'istio.io/use-waypoint': 'none' } } };
    const namespace = { labels: { 'istio.io/use-waypoint': 'waypoint' } };
    expect(waypointProblem(optedOut, 'shop', 'cart', namespace)).toMatch(
      /^Service "cart" opts out of waypoints \(istio\.io\/use-waypoint: none, which its namespace's label does not override\); .*remove that label/,
    );
  });

  it('refuses a Service when neither it nor its namespace names a waypoint', () => {
    for (const namespace of [{}, { labels: { 'istio.io/use-waypoint': 'none' } }]) {
      expect(waypointProblem(service({}), 'shop', 'cart', namespace)).toMatch(
        /^Service "cart" uses no waypoint \(no istio\.io\/use-waypoint label on it or its namespace, no istio\.io\/WaypointBound condition\); .*istioctl waypoint apply -n shop --enroll-namespace/,
      );
    }
  });

  it('refuses a Service whose namespace it may not read, saying the permission to grant', async () => {
    const forbidden = Object.assign(new Error('namespaces "shop" is forbidden'), { code: 403 });
    const problems = await waypointProblems(
      {
        getService: () => Promise.resolve(service({})),
        getNamespace: () => Promise.reject(forbidden),
      },
      'shop',
      ['cart'],
    );
    expect(problems.map((p) => p.path)).toEqual(['spec.analysis.metricsProvider']);
    expect(problems[0]!.message).toMatch(
      /^Service "cart" has no istio\.io\/use-waypoint label nor istio\.io\/WaypointBound condition, and Namespace shop could not be read .*namespaces "shop" is forbidden.*grant the controller get on its Namespace/,
    );
  });

  it('reads the namespace only for a Service that leaves the waypoint to it', async () => {
    const read: string[] = [];
    const getNamespace = (name: string) => {
      read.push(name);
      return Promise.resolve({ metadata: { labels: { 'istio.io/use-waypoint': 'waypoint' } } });
    };
    const bound = service({ status: { conditions: [{ type: 'istio.io/WaypointBound', status: 'True' }] } });
    expect(
      await waypointProblems({ getService: () => Promise.resolve(bound), getNamespace }, 'shop', ['cart']),
    ).toEqual([]);
    expect(read).toEqual([]);
    expect(
      await waypointProblems({ getService: () => Promise.resolve(service({})), getNamespace }, 'shop', [
        'cart',
      ]),
    ).toEqual([]);
    expect(read).toEqual(['shop']);
  });
});
