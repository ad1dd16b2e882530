import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema, type RouteMatch } from '../../src/api/schema.js';
import { createGatewayRouter } from '../../src/traffic/gateway-api.js';
import { headerRouteId } from '../../src/traffic/header-matches.js';
import { RoutingProblemsError } from '../../src/traffic/router.js';
import { FakeGatewayApi } from './fake-gateway-api.js';
import { httpRoute } from './gateway-route.js';

const NS = 'production';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function spec(steps: unknown[] = [{ weight: 5 }]) {
  return rolloutSpecSchema.parse({
    targetRef: { name: 'product-service' },
    trafficRouting: { gatewayAPI: { httpRoute: { name: 'product-service' } } },
    steps,
  });
}

const TESTERS: RouteMatch[] = spec([
  { headerRoute: { match: [{ headers: [{ name: 'x-canary', value: 'true' }] }] } },
]).steps[0]!.headerRoute!.match;

function setup(route: Json = httpRoute()) {
  const api = new FakeGatewayApi(route);
  const router = createGatewayRouter({
    api,
    namespace: NS,
    gatewaySpec: spec().trafficRouting.gatewayAPI!,
    target: 'product-service',
    retry: { minTimeout: 0 },
  });
  return { api, router };
}

function asWritten(route: Json): Json {
  const copy = structuredClone(route);
  delete copy.metadata.resourceVersion;
  return copy;
}

describe('Gateway API router: what mirror and headerRoute steps add to an HTTPRoute', () => {
  it('adds a RequestMirror filter to the canary Service on the managed rule, after the user’s filters', async () => {
    const { api, router } = setup();
    await router.setRoute({ weight: 0, mirrorPercent: 100 });
    const rule = api.route.spec.rules[1];
    expect(rule.filters).toEqual([
      { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-via', value: 'mesh' }] } },
      {
        type: 'RequestMirror',
        requestMirror: { backendRef: { name: 'product-service-canary', port: 80 }, percent: 100 },
      },
    ]);
    expect(rule.backendRefs.map((r: Json) => r.weight)).toEqual([100, 0]);
    expect(await router.inspect()).toMatchObject({
      ok: true,
      canaryWeight: 0,
      inSync: true,
      added: { mirrorPercent: 100 },
    });
  });

  it('appends a named rule to the canary with the managed rule’s matches plus the step’s headers, filters and timeouts', async () => {
    const { api, router } = setup();
    await router.setRoute({ weight: 5, headerMatches: TESTERS });
    const rules = api.route.spec.rules as Json[];
    expect(rules).toHaveLength(3);
    expect(rules[2]).toEqual({
      name: `stepwise-product-service-header-${headerRouteId(TESTERS)}`,
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [{ name: 'x-canary', value: 'true', type: 'Exact' }],
        },
      ],
      backendRefs: [{ name: 'product-service-canary', port: 80 }],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-via', value: 'mesh' }] } },
      ],
      timeouts: { request: '10s' },
    });
    expect(rules[1]!.backendRefs.map((r: Json) => r.weight)).toEqual([95, 5]);
    expect(await router.inspect()).toMatchObject({
      ok: true,
      canaryWeight: 5,
      inSync: true,
      added: { headerRoute: headerRouteId(TESTERS) },
    });
  });

  it('removes both with weight 0: the route is field for field what the user wrote', async () => {
    const { api, router } = setup();
    const before = asWritten(api.route);
    await router.setRoute({ weight: 0, mirrorPercent: 50, headerMatches: TESTERS });
    await router.setRoute({ weight: 50, headerMatches: TESTERS });
    await router.setRoute({ weight: 0 });
    expect(asWritten(api.route)).toStrictEqual(before);
    expect(await router.inspect()).toMatchObject({ ok: true, canaryWeight: 0, inSync: true, added: {} });
  });

  it('keeps weight-only changes to the two-weight patch', async () => {
    const { api, router } = setup();
    await router.setRoute({ weight: 25 });
    expect(api.patches.at(-1)!.map((op) => op.path)).toEqual([
      '/metadata/resourceVersion',
      '/spec/rules/1/backendRefs/0/name',
      '/spec/rules/1/backendRefs/1/name',
      '/spec/rules/1/backendRefs/0/weight',
      '/spec/rules/1/backendRefs/1/weight',
    ]);
  });

  it('refuses a header route on a route that already has 16 rules, changing nothing', async () => {
    const route = httpRoute();
    for (let i = 0; i < 14; i++) {
      route.spec.rules.push({
        name: `r${i}`,
        matches: [{ path: { type: 'Exact', value: `/r${i}` } }],
        backendRefs: [{ name: 'other', port: 80 }],
      });
    }
    const { api, router } = setup(route);
    const before = asWritten(api.route);
    const error = await router.setRoute({ weight: 0, headerMatches: TESTERS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingProblemsError);
    expect((error as RoutingProblemsError).problems[0]!.message).toMatch(
      /has 16 rules, the most Gateway API allows/,
    );
    expect(asWritten(api.route)).toStrictEqual(before);
  });
});
