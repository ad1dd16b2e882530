import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { rolloutSpecSchema, type RouteMatch } from '../../src/api/schema.js';
import { headerRouteId } from '../../src/traffic/header-matches.js';
import { createIstioRouter, type IstioSpec } from '../../src/traffic/istio.js';
import { RoutingProblemsError } from '../../src/traffic/router.js';
import { FakeIstioApi } from './fake-istio-api.js';

const NS = 'production';
const EXAMPLE = fileURLToPath(new URL('../sandbox/fixtures/istio-product-service.yaml', import.meta.url));
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function example(kind: string): Json {
  const docs = parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS() as Json | null);
  return docs.find((d) => d?.kind === kind)!;
}

function istioSpec(): IstioSpec {
  return rolloutSpecSchema.parse({
    targetRef: { name: 'product-service' },
    trafficRouting: {
      istio: { virtualService: { name: 'product-service' }, destinationRule: { name: 'product-service' } },
    },
  }).trafficRouting.istio!;
}

/** The step's matches as the schema gives them (types defaulted). */
function matches(match: unknown[]): RouteMatch[] {
  return rolloutSpecSchema.parse({
    targetRef: { name: 'product-service' },
    trafficRouting: { istio: { virtualService: { name: 'product-service' } } },
    steps: [{ headerRoute: { match } }],
  }).steps[0]!.headerRoute!.match;
}

const TESTERS = matches([
  { headers: [{ name: 'X-Tester', value: 'yes' }] },
  { cookies: [{ name: 'canary', value: 'on' }] },
]);

/** The VirtualService without resourceVersion: what the user wrote, for field-for-field comparison. */
function asWritten(vs: Json): Json {
  const copy = structuredClone(vs);
  delete copy.metadata.resourceVersion;
  return copy;
}

describe('Istio router: what mirror and headerRoute steps add to a VirtualService', () => {
  let api: FakeIstioApi;
  const stored = () => api.virtualServices.get(`${NS}/product-service`) as Json;
  const router = () =>
    createIstioRouter({
      api,
      namespace: NS,
      istioSpec: istioSpec(),
      target: 'product-service',
      retry: { minTimeout: 0 },
    });

  beforeEach(() => {
    api = new FakeIstioApi();
    const vs = example('VirtualService');
    // Weight 0 on the managed route, as before a rollout.
    vs.spec.http[1].route[0].weight = 100;
    vs.spec.http[1].route[1].weight = 0;
    api.putVirtualService(NS, vs);
    api.putDestinationRule(NS, example('DestinationRule'));
  });

  it('mirrors the managed route to the canary subset at the step percent, users staying on stable', async () => {
    const before = asWritten(stored());
    await router().setRoute({ weight: 0, mirrorPercent: 50 });
    const managed = stored().spec.http[1];
    expect(managed.mirror).toEqual({ host: 'product-service', subset: 'canary' });
    expect(managed.mirrorPercentage).toEqual({ value: 50 });
    expect(managed.route.map((d: Json) => d.weight)).toEqual([100, 0]);
    const { mirror: _m, mirrorPercentage: _p, ...rest } = managed;
    expect(rest).toEqual(before.spec.http[1]);
    expect(stored().spec.http[0]).toEqual(before.spec.http[0]);
    expect(await router().inspect()).toMatchObject({
      ok: true,
      canaryWeight: 0,
      inSync: true,
      added: { mirrorPercent: 50 },
    });
  });

  it('puts a named header route to the canary right before the managed route, with its settings and matches', async () => {
    const before = asWritten(stored());
    await router().setRoute({ weight: 5, headerMatches: TESTERS });
    const http = stored().spec.http as Json[];
    expect(http).toHaveLength(3);
    expect(http[0]).toEqual(before.spec.http[0]);
    expect(http[1]).toEqual({
      name: `stepwise-product-service-header-${headerRouteId(TESTERS)}`,
      match: [
        { headers: { 'x-tester': { exact: 'yes' } } },
        { headers: { cookie: { regex: '^(?:.*;\\s*)?(?:canary=on)(?:\\s*;.*)?$' } } },
      ],
      route: [{ destination: { host: 'product-service', subset: 'canary' }, weight: 100 }],
      retries: { attempts: 3, perTryTimeout: '2s' },
      timeout: '10s',
    });
    expect(http[2]!.route.map((d: Json) => d.weight)).toEqual([95, 5]);
    expect(await router().inspect()).toMatchObject({
      ok: true,
      canaryWeight: 5,
      inSync: true,
      added: { headerRoute: headerRouteId(TESTERS) },
    });
  });

  it('ANDs the managed route’s own matches into the header route, leaving out a header both constrain differently', async () => {
    api.editVirtualService(NS, 'product-service', (vs: Json) => {
      vs.spec.http[1].match = [
        { uri: { prefix: '/api' } },
        { uri: { prefix: '/v2' }, headers: { 'x-tester': { exact: 'no' } } },
      ];
    });
    await router().setRoute({ weight: 0, headerMatches: TESTERS });
    expect(stored().spec.http[1].match).toEqual([
      { uri: { prefix: '/api' }, headers: { 'x-tester': { exact: 'yes' } } },
      { uri: { prefix: '/api' }, headers: { cookie: { regex: '^(?:.*;\\s*)?(?:canary=on)(?:\\s*;.*)?$' } } },
      {
        uri: { prefix: '/v2' },
        headers: {
          'x-tester': { exact: 'no' },
          cookie: { regex: '^(?:.*;\\s*)?(?:canary=on)(?:\\s*;.*)?$' },
        },
      },
    ]);
  });

  it('removes every addition with weight 0, leaving the VirtualService field for field as the user wrote it', async () => {
    const before = asWritten(stored());
    await router().setRoute({ weight: 0, mirrorPercent: 100, headerMatches: TESTERS });
    await router().setRoute({ weight: 25, headerMatches: TESTERS });
    expect(stored().spec.http[2].mirror).toBeUndefined();
    await router().setRoute({ weight: 0 });
    expect(asWritten(stored())).toStrictEqual(before);
    expect(await router().inspect()).toMatchObject({ ok: true, canaryWeight: 0, inSync: true, added: {} });
  });

  it('recognises a leftover of its own (another id, a crash between writes) and replaces it, never reporting it', async () => {
    const old = matches([{ headers: [{ name: 'x-old', value: '1' }] }]);
    await router().setRoute({ weight: 0, headerMatches: old });
    const inspection = await router().inspect();
    expect(inspection).toMatchObject({ ok: true, added: { headerRoute: headerRouteId(old) } });
    await router().setRoute({ weight: 0, headerMatches: TESTERS });
    const names = (stored().spec.http as Json[]).map((r) => r.name);
    expect(names).toEqual([
      undefined,
      `stepwise-product-service-header-${headerRouteId(TESTERS)}`,
      undefined,
    ]);
  });

  it('refuses to mirror a managed route that has a mirror of the user’s, changing nothing', async () => {
    api.editVirtualService(NS, 'product-service', (vs: Json) => {
      vs.spec.http[1].mirror = { host: 'audit' };
    });
    const before = asWritten(stored());
    const error = await router()
      .setRoute({ weight: 0, mirrorPercent: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingProblemsError);
    expect((error as RoutingProblemsError).problems[0]!.message).toMatch(
      /already has mirror; .*remove yours/,
    );
    expect(asWritten(stored())).toStrictEqual(before);
  });

  it('sends no patch when the additions are already there', async () => {
    await router().setRoute({ weight: 5, mirrorPercent: 100, headerMatches: TESTERS });
    const patches = api.patches.length;
    await router().setRoute({ weight: 5, mirrorPercent: 100, headerMatches: TESTERS });
    expect(api.patches.length).toBe(patches);
  });

  it('puts a header route of its own before each managed route when the Rollout names two', async () => {
    api.editVirtualService(NS, 'product-service', (vs: Json) => {
      vs.spec.http[1].name = 'primary';
      vs.spec.http.push({
        ...structuredClone(vs.spec.http[1]),
        name: 'api',
        match: [{ uri: { prefix: '/api' } }],
      });
    });
    const spec = rolloutSpecSchema.parse({
      targetRef: { name: 'product-service' },
      trafficRouting: {
        istio: {
          virtualService: { name: 'product-service', routes: ['primary', 'api'] },
          destinationRule: { name: 'product-service' },
        },
      },
    }).trafficRouting.istio!;
    const two = createIstioRouter({ api, namespace: NS, istioSpec: spec, target: 'product-service' });
    await two.setRoute({ weight: 10, headerMatches: TESTERS });
    const id = headerRouteId(TESTERS);
    expect((stored().spec.http as Json[]).map((r) => r.name)).toEqual([
      undefined,
      `stepwise-product-service-header-${id}`,
      'primary',
      `stepwise-product-service-header-${id}-2`,
      'api',
    ]);
    expect(stored().spec.http[3].match[0]).toEqual({
      uri: { prefix: '/api' },
      headers: { 'x-tester': { exact: 'yes' } },
    });
    expect(await two.inspect()).toMatchObject({
      ok: true,
      canaryWeight: 10,
      inSync: true,
      added: { headerRoute: id },
    });
  });
});
