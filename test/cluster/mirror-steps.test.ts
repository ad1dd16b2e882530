// Mirror and headerRoute steps on a real kube-apiserver with Istio's and Gateway API's own CRDs (OpenAPI, CEL and
// defaults: an HTTPRoute rule's `matches` defaults to PathPrefix "/", a backendRef's `weight` to 1, its `group` and
// `kind` to "" and Service), the controller running as the chart's ServiceAccount. Each step's write is accepted and
// reads back as the step asks; after promotion, rollback, abort and Rollout deletion the route object is field for
// field what the API server stored when the user created it.
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodBehaviour } from '../../sandbox/mesh/index.js';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { gatewayApi } from '../../src/controller/observe.js';
import { Cluster as KubernetesCluster } from '../../src/kube/cluster.js';
import { createGatewayRouter } from '../../src/traffic/gateway-api.js';
import { APP, IMAGE, readExample, settled, startE2E, type E2E } from '../e2e/harness.js';
import { changedPaths } from '../support/changed-paths.js';
import { clusterForSuite } from './fixture.js';
import { clusterStack, type ClusterStack } from './stack.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' } as const;
const CANARY_SERVICE = `${APP}-canary`;
const HEADER_ROUTE_PREFIX = `stepwise-${APP}-header-`;
/** Both examples' managed route: spec.http[1] of the VirtualService, spec.rules[1] of the HTTPRoute. */
const MANAGED = 1;
// As rollouts/mirror-preview has it: testers by a header, or by a cookie (a regular expression on `cookie`).
const TESTERS = {
  match: [
    { headers: [{ name: 'x-tester', value: 'yes' }] },
    { cookies: [{ name: 'canary', value: 'always' }] },
  ],
};
/** What the cookie match is written as, by header-matches.ts. */
const COOKIE_REGEX = '^(?:.*;\\s*)?(?:canary=always)(?:\\s*;.*)?$';
const MIRROR_PERCENT = 50;
/** Long enough for a few passes to find the header route in place. */
const HEADER_STEP = '10s';

// Only a release named bad-errors fails; a fifth of the requests carry the testers' header, which only the
// headerRoute step sends to the canary.
const behaviour = (image: string): PodBehaviour => ({
  errorRate: image.includes('bad-errors') ? 0.05 : 0,
  latencyMs: { p50: 50, p99: 200 },
});
const MESH = { headerRequests: { share: 0.2, headers: { 'x-tester': 'yes' } }, behaviour };
const ANALYSIS = {
  interval: '1s',
  stepDuration: '3s',
  minRequests: 10,
  comparison: { enabled: false },
  thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
};

interface Case {
  name: string;
  namespace: string;
  example: string;
  kind: 'VirtualService' | 'HTTPRoute';
  resource: { group: string; version: string; plural: string };
  /** The routes or rules of a route object's spec. */
  entries: (spec: Json) => Json[];
  /** The two destinations or backendRefs (stable, canary) of a managed route or rule. */
  weighted: (managed: Json) => Json[];
  /** Whether a managed route or rule mirrors. */
  mirrored: (managed: Json) => boolean;
  /** What the mirror step writes on the managed route, as the API server stores it. */
  mirrorWritten: (asWritten: Json) => Json;
  /** The route of Stepwise's that a headerRoute step adds, as the API server stores it. */
  headerRouteWritten: (asWritten: Json, name: string) => Json;
  /** Where the header route sits among the spec's routes or rules. */
  headerRouteIndex: number;
}

const CASES: Case[] = [
  {
    name: 'a VirtualService',
    namespace: 'mirror-virtualservice',
    example: 'product-service',
    kind: 'VirtualService',
    resource: { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' },
    entries: (spec) => spec.http,
    weighted: (managed) => managed.route,
    mirrored: (managed) => managed.mirror !== undefined,
    // istio/api networking/v1alpha3 virtual_service.proto: HTTPRoute.mirror (a Destination), mirrorPercentage.
    mirrorWritten: (asWritten) => ({
      ...asWritten.http[MANAGED],
      route: [
        { ...asWritten.http[MANAGED].route[0], weight: 100 },
        { ...asWritten.http[MANAGED].route[1], weight: 0 },
      ],
      mirror: { host: APP, subset: 'canary' },
      mirrorPercentage: { value: MIRROR_PERCENT },
    }),
    // Istio takes the first http route that matches: the header route goes right before the managed one.
    headerRouteWritten: (asWritten, name) => ({
      name,
      match: [
        { headers: { 'x-tester': { exact: 'yes' } } },
        { headers: { cookie: { regex: COOKIE_REGEX } } },
      ],
      route: [{ destination: { host: APP, subset: 'canary' }, weight: 100 }],
      retries: asWritten.http[MANAGED].retries,
      timeout: asWritten.http[MANAGED].timeout,
    }),
    headerRouteIndex: MANAGED,
  },
  {
    name: 'an HTTPRoute attached to the Service (GAMMA)',
    namespace: 'mirror-httproute',
    example: 'product-service-httproute',
    kind: 'HTTPRoute',
    resource: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' },
    entries: (spec) => spec.rules,
    weighted: (managed) => managed.backendRefs,
    mirrored: (managed) => (managed.filters ?? []).some((f: Json) => f.type === 'RequestMirror'),
    // sigs.k8s.io/gateway-api apis/v1 httproute_types.go: HTTPRequestMirrorFilter{BackendRef, Percent}.
    mirrorWritten: (asWritten) => ({
      ...asWritten.rules[MANAGED],
      filters: [
        {
          type: 'RequestMirror',
          requestMirror: {
            backendRef: { group: '', kind: 'Service', name: CANARY_SERVICE, port: 80 },
            percent: MIRROR_PERCENT,
          },
        },
      ],
    }),
    // Gateway API's precedence gives a request to the rule whose match has the most header matches: the header
    // rule (the managed rule's defaulted match plus the testers' header) wins from the end of the list.
    headerRouteWritten: (asWritten, name) => ({
      name,
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [{ name: 'x-tester', value: 'yes', type: 'Exact' }],
        },
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [{ name: 'cookie', value: COOKIE_REGEX, type: 'RegularExpression' }],
        },
      ],
      backendRefs: [{ group: '', kind: 'Service', name: CANARY_SERVICE, port: 80, weight: 1 }],
      timeouts: asWritten.rules[MANAGED].timeouts,
    }),
    headerRouteIndex: 2,
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls every 100 ms until `probe` returns something other than undefined, and returns it. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The controller's writes to a resource, by HTTP status, from its stepwise_kubernetes_requests_total. */
async function patchesOf(e2e: E2E<ClusterStack>, resource: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${await e2e.controller.metricsUrl}/metrics`)).text();
  const byCode = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('stepwise_kubernetes_requests_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.indexOf('}'));
    if (!labels.includes('verb="patch"') || !labels.includes(`resource="${resource}"`)) continue;
    const code = /code="(\d+)"/.exec(labels)?.[1] ?? '?';
    byCode.set(code, (byCode.get(code) ?? 0) + Number(line.split(' ').at(-1)));
  }
  return byCode;
}

describe('mirror and headerRoute steps on a real kube-apiserver with the real Istio and Gateway API CRDs', () => {
  const cluster = clusterForSuite();

  for (const c of CASES) {
    describe(c.name, () => {
      let e2e: E2E<ClusterStack>;
      let custom: CustomObjectsApi;
      /** The route object's spec as the API server stored the example at creation (its defaults included). */
      let asWritten: Json;
      const route = async () =>
        (await custom.getNamespacedCustomObject({
          ...c.resource,
          namespace: c.namespace,
          name: APP,
        })) as Json;
      const routeWhen = (what: string, holds: (spec: Json) => boolean) =>
        eventually(
          what,
          async () => {
            const r = await route();
            return holds(r.spec) ? r : undefined;
          },
          15_000,
        );
      const isHeaderRoute = (r: Json) => String(r.name ?? '').startsWith(HEADER_ROUTE_PREFIX);
      const headerRoutes = (spec: Json) => c.entries(spec).filter(isHeaderRoute);
      /** The managed route or rule, wherever Stepwise's header route put it. */
      const managed = (spec: Json) => c.entries(spec).filter((r) => !isHeaderRoute(r))[MANAGED]!;
      const weights = (spec: Json) => c.weighted(managed(spec)).map((ref) => ref.weight as number);
      const mirrored = (spec: Json) => c.mirrored(managed(spec));
      /** The route object is the user's again: every field as stored at creation but the weights, all on stable. */
      const expectAsWritten = async () => {
        const { spec } = await routeWhen(
          'the route object without additions',
          (s) => headerRoutes(s).length === 0 && !mirrored(s) && weights(s)[1] === 0,
        );
        // Stepwise's own: the two weights of the managed route.
        const owned = /^\/(http\/1\/route|rules\/1\/backendRefs)\/[01]\/weight$/;
        const changed = changedPaths(asWritten, spec).filter((p) => !owned.test(p));
        expect(changed).toEqual([]);
        expect(weights(spec)).toEqual([100, 0]);
      };

      /** No route write was refused by the API server (422 Invalid, 400 BadRequest…); `ok` of them were made. */
      const expectEveryRouteWriteAccepted = async () => {
        const byCode = await patchesOf(e2e, c.resource.plural);
        const refused = [...byCode].filter(([code]) => code !== '200' && code !== '409');
        expect(refused, 'route writes the API server refused, by HTTP status').toEqual([]);
        return byCode.get('200') ?? 0;
      };

      beforeAll(async () => {
        e2e = await startE2E({
          stack: (options) => clusterStack(cluster(), { ...options, namespace: c.namespace }),
          example: c.example,
          mesh: MESH,
          analysis: ANALYSIS,
          steps: [
            { mirror: { percent: MIRROR_PERCENT } },
            { headerRoute: TESTERS, duration: HEADER_STEP },
            { weight: 50 },
          ],
        });
        custom = e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
        // The same manifest, created with dryRun=All: the stored form, defaults included, without storing it.
        const manifest = readExample(c.example, c.kind) as Json;
        asWritten = (
          (await custom.createNamespacedCustomObject({
            ...c.resource,
            namespace: c.namespace,
            body: { ...manifest, metadata: { name: `${APP}-as-written` } },
            dryRun: 'All',
          })) as Json
        ).spec;
        await e2e.adopted();
      });

      afterAll(async () => {
        await e2e?.close();
      });

      it('writes the mirror, then a header route of its own, then weights, each accepted by the CRD schema', async () => {
        const before = (await route()).spec;
        await e2e.release(`${IMAGE}:1.1.0`);
        await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === MIRROR_PERCENT, 60_000);
        const atMirror = (await routeWhen('the mirror on the route', mirrored)).spec;
        expect(managed(atMirror)).toEqual(c.mirrorWritten(asWritten));
        expect(c.entries(atMirror).length).toBe(c.entries(before).length);

        await e2e.waitFor('the header route step', (s) => s.currentStep === 2 && s.headerRoute === true);
        const atHeader = (await routeWhen('the header route', (s) => headerRoutes(s).length > 0)).spec;
        const added = headerRoutes(atHeader)[0]!;
        expect(c.entries(atHeader).indexOf(added)).toBe(c.headerRouteIndex);
        expect(added).toEqual(c.headerRouteWritten(asWritten, added.name));
        expect(mirrored(atHeader)).toBe(false);
        // The user's own routes are as they were, in their order.
        expect(c.entries(atHeader).filter((r) => r !== added)).toEqual(c.entries(before));

        // While the step holds, passes (one a second) find the route as they want it and write nothing.
        await sleep(500);
        const writesInStep = await expectEveryRouteWriteAccepted();
        await sleep(3_000);
        expect(await expectEveryRouteWriteAccepted(), 'route writes while the step held').toBe(writesInStep);
        expect((await e2e.status()).currentStep).toBe(2);

        await e2e.waitFor('the weight step', (s) => s.currentStep === 3 && s.canaryWeight === 50);
        const atWeight = (await routeWhen('weight 50', (s) => weights(s)[1] === 50)).spec;
        // The header route stays from its step to the end of the rollout.
        expect(headerRoutes(atWeight)).toEqual([added]);
        expect(weights(atWeight)).toEqual([50, 50]);
        const promoted = await e2e.waitFor('promotion', settled, 60_000);
        expect(promoted.phase, promoted.message).toBe('Succeeded');
        await expectAsWritten();
        await expectEveryRouteWriteAccepted();
      });

      it('rolls a failing release back, its mirror step first: the route object is as written', async () => {
        await e2e.patchRolloutSpec({
          steps: [{ mirror: { percent: 100 }, duration: '30s' }, { weight: 100 }],
        });
        const { canaryRevision } = await e2e.status();
        await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
        await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === 100, 60_000);
        await routeWhen('the mirror on the route', mirrored);
        const status = await e2e.waitFor(
          'the rollback',
          (s) => settled(s) && s.canaryRevision !== canaryRevision,
          60_000,
        );
        expect(status, status.message).toMatchObject({ phase: 'RolledBack', reason: 'ErrorRate' });
        await expectAsWritten();
        await expectEveryRouteWriteAccepted();
      });

      it('aborts during the header route step: the route object is as written', async () => {
        await e2e.patchRolloutSpec({ steps: [{ headerRoute: TESTERS, duration: '10m' }, { weight: 100 }] });
        await e2e.release(`${IMAGE}:1.3.0`);
        await e2e.waitFor('the header route step', (s) => s.headerRoute === true, 60_000);
        await routeWhen('the header route', (s) => headerRoutes(s).length > 0);
        const abort = await e2e.cli(['abort', APP, '-o', 'json']);
        expect(abort.code, abort.stderr).toBe(0);
        expect(await e2e.status()).toMatchObject({ phase: 'Aborted', canaryWeight: 0 });
        await expectAsWritten();
        await expectEveryRouteWriteAccepted();
      });

      it('deleting the Rollout during its mirror step leaves the route object as written', async () => {
        await e2e.patchRolloutSpec({
          steps: [{ mirror: { percent: 100 }, duration: '10m' }, { weight: 100 }],
        });
        await e2e.release(`${IMAGE}:1.4.0`);
        await e2e.waitFor('the mirror step', (s) => s.mirrorPercent === 100, 60_000);
        await routeWhen('the mirror on the route', mirrored);
        await custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace: c.namespace, name: APP });
        await eventually(
          'the Rollout to be gone',
          () =>
            custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace: c.namespace, name: APP }).then(
              () => undefined,
              () => true,
            ),
          30_000,
        );
        await expectAsWritten();
        await expectEveryRouteWriteAccepted();
      });
    });
  }

  /**
   * `manifest` created in a namespace of its own, and the Gateway API router alone, as the controller's pass calls
   * it, writing with the chart's ServiceAccount.
   */
  async function routerOver(namespace: string, plural: 'httproutes' | 'grpcroutes', manifest: Json) {
    const { plane, chart } = cluster();
    await plane.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
    const routes = { group: 'gateway.networking.k8s.io', version: 'v1', plural, namespace };
    const created = (await custom.createNamespacedCustomObject({ ...routes, body: manifest })) as Json;
    const route = { name: APP, rule: 'primary' };
    const spec = rolloutSpecSchema.parse({
      targetRef: { name: APP },
      trafficRouting: { gatewayAPI: plural === 'httproutes' ? { httpRoute: route } : { grpcRoute: route } },
      steps: [{ headerRoute: TESTERS }, { weight: 100 }],
    });
    const asController = new KubeConfig();
    asController.loadFromFile(chart.kubeconfigPath);
    const requests: { verb: string; resource: string; code: number }[] = [];
    const router = createGatewayRouter({
      api: gatewayApi(new KubernetesCluster(asController, (r) => requests.push(r))),
      namespace,
      gatewaySpec: spec.trafficRouting.gatewayAPI!,
      target: APP,
    });
    const read = async () => (await custom.getNamespacedCustomObject({ ...routes, name: APP })) as Json;
    const patches = () => requests.filter((r) => r.verb === 'patch').length;
    return { router, read, created, patches, headerMatches: spec.steps[0]!.headerRoute!.match };
  }

  // HTTPRouteRule's CEL rules allow a rule that rewrites a path prefix exactly one PathPrefix match.
  it('writes a header route the HTTPRoute CRD accepts when the managed rule rewrites a path prefix', async () => {
    const manifest = readExample('product-service-httproute', 'HTTPRoute') as Json;
    manifest.spec.rules[MANAGED] = {
      ...manifest.spec.rules[MANAGED],
      matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
      filters: [
        { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } },
      ],
    };
    const { router, read, created, headerMatches } = await routerOver(
      'mirror-rewrite',
      'httproutes',
      manifest,
    );
    await router.setRoute({ weight: 0, headerMatches });
    const added = (await read()).spec.rules.slice(2) as Json[];
    expect(added.map((rule) => rule.matches.map((m: Json) => [m.path.value, m.headers[0].name]))).toEqual([
      [['/api', 'x-tester']],
      [['/api', 'cookie']],
    ]);
    expect(await router.inspect()).toMatchObject({ ok: true, inSync: true });
    await router.setRoute({ weight: 0 });
    expect((await read()).spec).toEqual(created.spec);
  });

  it('writes a mirror and a header route the GRPCRoute CRD accepts, and removes them to the stored form', async () => {
    const manifest = readExample('product-service-grpcroute', 'GRPCRoute') as Json;
    const { router, read, created, patches, headerMatches } = await routerOver(
      'mirror-grpc',
      'grpcroutes',
      manifest,
    );
    await router.setRoute({ weight: 0, mirrorPercent: MIRROR_PERCENT });
    expect((await read()).spec.rules[MANAGED].filters).toEqual([
      {
        type: 'RequestMirror',
        requestMirror: {
          backendRef: { group: '', kind: 'Service', name: CANARY_SERVICE, port: 80 },
          percent: MIRROR_PERCENT,
        },
      },
    ]);
    expect(await router.inspect()).toMatchObject({ inSync: true, added: { mirrorPercent: MIRROR_PERCENT } });
    await router.setRoute({ weight: 25, headerMatches });
    const rules = (await read()).spec.rules as Json[];
    expect(rules.map((rule) => rule.name)).toEqual([
      'qa',
      'primary',
      'export',
      expect.stringMatching(/^stepwise-/),
    ]);
    expect(rules[3]!.matches.map((m: Json) => m.headers[0].name)).toEqual(['x-tester', 'cookie']);
    expect(await router.inspect()).toMatchObject({ inSync: true, canaryWeight: 25 });
    // The route as the API server stored it, defaults included, is what the router wants: nothing to write.
    const written = patches();
    await router.setRoute({ weight: 25, headerMatches });
    expect(patches()).toBe(written);
    await router.setRoute({ weight: 0 });
    expect((await read()).spec).toEqual(created.spec);
  });
});
