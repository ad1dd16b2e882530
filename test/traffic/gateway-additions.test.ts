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

const TESTERS_OR_COOKIE: RouteMatch[] = spec([
  {
    headerRoute: {
      match: [
        { headers: [{ name: 'x-canary', value: 'true' }] },
        { cookies: [{ name: 'canary', value: 'always' }] },
      ],
    },
  },
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
      backendRefs: [{ name: 'product-service-canary', port: 80, weight: 1 }],
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

  it('writes nothing more once the API server has stored the header rule with its defaults', async () => {
    const { api, router } = setup();
    await router.setRoute({ weight: 25, headerMatches: TESTERS });
    // As the API server stores a route (HTTPBackendRef: group "", kind Service, weight 1 when unset).
    api.edit((route) => {
      for (const rule of route.spec.rules)
        for (const ref of rule.backendRefs)
          Object.assign(ref, { group: '', kind: 'Service', weight: 1, ...ref });
    });
    const patches = api.patches.length;
    await router.setRoute({ weight: 25, headerMatches: TESTERS });
    expect(api.patches).toHaveLength(patches);
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

  it('writes one header rule per match where the managed rule rewrites a path prefix, as the CRD requires', async () => {
    // HTTPRouteRule's CEL rules: with a URLRewrite or RequestRedirect to path.replacePrefixMatch (on the rule or on
    // a backendRef), a rule must have exactly one PathPrefix match.
    const route = httpRoute();
    const primary = route.spec.rules[1];
    primary.matches = [{ path: { type: 'PathPrefix', value: '/api' } }];
    primary.filters.push({
      type: 'URLRewrite',
      urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
    });
    const { api, router } = setup(route);
    const before = asWritten(api.route);
    await router.setRoute({ weight: 0, headerMatches: TESTERS_OR_COOKIE });
    const added = (api.route.spec.rules as Json[]).slice(2);
    const id = headerRouteId(TESTERS_OR_COOKIE);
    expect(added.map((r) => r.name)).toEqual([
      `stepwise-product-service-header-${id}`,
      `stepwise-product-service-header-${id}-2`,
    ]);
    for (const rule of added) {
      expect(rule.matches).toHaveLength(1);
      expect(rule.matches[0].path).toEqual({ type: 'PathPrefix', value: '/api' });
      expect(rule.filters).toEqual(primary.filters);
    }
    expect(added.map((r) => r.matches[0].headers[0].name)).toEqual(['x-canary', 'cookie']);
    expect(await router.inspect()).toMatchObject({ ok: true, inSync: true, added: { headerRoute: id } });
    const patches = api.patches.length;
    await router.setRoute({ weight: 0, headerMatches: TESTERS_OR_COOKIE });
    expect(api.patches).toHaveLength(patches);
    await router.setRoute({ weight: 0 });
    expect(asWritten(api.route)).toStrictEqual(before);
  });

  it('refuses a header route that would take the route past 128 matches, changing nothing', async () => {
    // The CEL rule on HTTPRouteSpec.Rules: at most 128 matches over all rules.
    const route = httpRoute();
    for (const [i, count] of [64, 60].entries()) {
      route.spec.rules.push({
        name: `many-${i}`,
        matches: Array.from({ length: count }, (_, n) => ({ path: { type: 'Exact', value: `/${i}/${n}` } })),
        backendRefs: [{ name: 'other', port: 80 }],
      });
    }
    const { api, router } = setup(route);
    const before = asWritten(api.route);
    const error = await router
      .setRoute({ weight: 0, headerMatches: [...TESTERS, ...TESTERS_OR_COOKIE] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingProblemsError);
    expect((error as RoutingProblemsError).problems[0]!.message).toBe(
      'HTTPRoute product-service has 126 matches over its rules, and a headerRoute step adds 3 (at most 128 in a route): use fewer matches in your rules or the step',
    );
    expect(asWritten(api.route)).toStrictEqual(before);
    await router.setRoute({ weight: 0, headerMatches: TESTERS_OR_COOKIE });
    expect(api.route.spec.rules).toHaveLength(5);
  });

  const manyHeaders = Array.from({ length: 16 }, (_, i) => ({ name: `x-h${i}`, value: 'yes' }));
  it.each([
    {
      limit: '16 filters on the managed rule, with a mirror step',
      change: (route: Json) => {
        const modifier = route.spec.rules[1].filters[0];
        route.spec.rules[1].filters = Array.from({ length: 16 }, () => structuredClone(modifier));
      },
      state: { weight: 0, mirrorPercent: 100 },
      message:
        /has 16 filters on the managed rule, the most Gateway API allows; a mirror step adds a RequestMirror/,
    },
    {
      limit: '16 header matches in a match, with 16 headers and a cookie in the step',
      change: () => undefined,
      state: {
        weight: 0,
        headerMatches: spec([
          { headerRoute: { match: [{ headers: manyHeaders, cookies: [{ name: 'c', value: 'v' }] }] } },
        ]).steps[0]!.headerRoute!.match,
      },
      message: /would need 17 header matches in one match of the added rule/,
    },
    {
      limit: '4096 characters in a header value, with three long cookies',
      change: () => undefined,
      state: {
        weight: 0,
        headerMatches: spec([
          {
            headerRoute: {
              match: [{ cookies: ['a', 'b', 'c'].map((name) => ({ name, value: 'v'.repeat(300) })) }],
            },
          },
        ]).steps[0]!.headerRoute!.match,
      },
      message: /would need a header match value of \d+ characters in the added rule \(at most 4096/,
    },
  ])('refuses what the CRD would reject at $limit, naming it and changing nothing', async (c) => {
    const route = httpRoute();
    c.change(route);
    const { api, router } = setup(route);
    const before = asWritten(api.route);
    const error = await router.setRoute(c.state).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingProblemsError);
    expect((error as RoutingProblemsError).problems[0]!.message).toMatch(c.message);
    expect(asWritten(api.route)).toStrictEqual(before);
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
