import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { createGatewayRouter, type GatewayApiSpec } from '../../src/traffic/gateway-api.js';
import { FakeGatewayApi } from './fake-gateway-api.js';
import { httpRoute } from './gateway-route.js';

const NS = 'production';
/** The canary Service, whose callers' 503s the analysis reads. */
const CANARY_HOST = 'product-service-canary.production.svc.cluster.local';
// The route's GAMMA parent: the Service its callers address (the ambient waypoint check reads it).
const PARENTS = ['product-service'];
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function gatewaySpec(gatewayAPI: Json = { httpRoute: { name: 'product-service' } }): GatewayApiSpec {
  return rolloutSpecSchema.parse({ targetRef: { name: 'product-service' }, trafficRouting: { gatewayAPI } })
    .trafficRouting.gatewayAPI!;
}

function setup(route: Json = httpRoute(), spec: GatewayApiSpec = gatewaySpec()) {
  const api = new FakeGatewayApi(route);
  const router = createGatewayRouter({
    api,
    namespace: NS,
    gatewaySpec: spec,
    target: 'product-service',
    retry: { minTimeout: 0 },
  });
  return { api, router };
}

/** The route without the managed rule's two weights and the resourceVersion: what must never change. */
function exceptManagedWeights(route: Json, rule = 1): Json {
  const copy = structuredClone(route);
  delete copy.metadata.resourceVersion;
  for (const ref of copy.spec.rules[rule].backendRefs) delete ref.weight;
  return copy;
}

describe('Gateway API router: the weights of one rule of an HTTPRoute or GRPCRoute', () => {
  it('runs 5 → 25 → 50 → 100 → 0 changing only the managed rule’s two weights, field for field', async () => {
    const { api, router } = setup();
    const original = structuredClone(api.route);
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 0,
      inSync: true,
      host: CANARY_HOST,
      added: {},
      parentServices: PARENTS,
    });
    for (const weight of [5, 25, 50, 100, 0]) {
      await router.setRoute({ weight });
      expect(api.route.spec.rules[1].backendRefs.map((r: Json) => r.weight)).toEqual([100 - weight, weight]);
      expect(exceptManagedWeights(api.route)).toStrictEqual(exceptManagedWeights(original));
      expect(await router.inspect()).toEqual({
        ok: true,
        canaryWeight: weight,
        inSync: true,
        host: CANARY_HOST,
        added: {},
        parentServices: PARENTS,
      });
    }
    expect(api.patches).toHaveLength(5);
  });

  it('patches only the two weight paths, pinned to the backendRefs read and the resourceVersion read', async () => {
    const { api, router } = setup();
    await router.setRoute({ weight: 25 });
    expect(api.patches[0]).toEqual([
      { op: 'replace', path: '/metadata/resourceVersion', value: '1' },
      { op: 'test', path: '/spec/rules/1/backendRefs/0/name', value: 'product-service-stable' },
      { op: 'test', path: '/spec/rules/1/backendRefs/1/name', value: 'product-service-canary' },
      { op: 'add', path: '/spec/rules/1/backendRefs/0/weight', value: 75 },
      { op: 'add', path: '/spec/rules/1/backendRefs/1/weight', value: 25 },
    ]);
  });

  it('re-reads after a 409 and keeps the concurrent edit, even when it moved the rule', async () => {
    const { api, router } = setup();
    api.beforePatch = (attempt) => {
      if (attempt === 1)
        api.edit((r) => r.spec.rules.unshift({ name: 'new', backendRefs: [{ name: 'other', port: 80 }] }));
    };
    await router.setRoute({ weight: 25 });
    expect(api.patches).toHaveLength(2);
    expect(api.route.spec.rules.map((r: Json) => r.name)).toEqual(['new', 'testers', 'primary']);
    expect(api.route.spec.rules[2].backendRefs.map((r: Json) => r.weight)).toEqual([75, 25]);
    expect(api.route.spec.rules[0].backendRefs).toEqual([{ name: 'other', port: 80 }]);
  });

  it('reads unset weights as 1 each (an even split, as the spec says), so they are not taken for 0% canary', async () => {
    const route = httpRoute();
    for (const ref of route.spec.rules[1].backendRefs) delete ref.weight;
    const { router } = setup(route);
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 50,
      inSync: false,
      host: CANARY_HOST,
      added: {},
      parentServices: PARENTS,
    });
  });

  it('reads weights that do not sum to 100 as their share, and rewrites them', async () => {
    const route = httpRoute();
    route.spec.rules[1].backendRefs[0].weight = 900_000;
    route.spec.rules[1].backendRefs[1].weight = 100_000;
    const { api, router } = setup(route);
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 10,
      inSync: false,
      host: CANARY_HOST,
      added: {},
      parentServices: PARENTS,
    });
    await router.setRoute({ weight: 10 });
    expect(api.route.spec.rules[1].backendRefs.map((r: Json) => r.weight)).toEqual([90, 10]);
  });

  it('manages the rule named in the Rollout when several rules send to both Services', async () => {
    const route = httpRoute();
    route.spec.rules.push({ name: 'api', backendRefs: structuredClone(route.spec.rules[1].backendRefs) });
    const ambiguous = await setup(route).router.inspect();
    expect(ambiguous).toMatchObject({ ok: false });
    expect(JSON.stringify(ambiguous)).toMatch(
      /has 2 rules with backendRefs to both.*rules\[1\] \\"primary\\", rules\[2\] \\"api\\".*rule:/,
    );
    const { api, router } = setup(
      route,
      gatewaySpec({ httpRoute: { name: 'product-service', rule: 'api' } }),
    );
    await router.setRoute({ weight: 30 });
    expect(api.route.spec.rules[2].backendRefs.map((r: Json) => r.weight)).toEqual([70, 30]);
    expect(api.route.spec.rules[1].backendRefs.map((r: Json) => r.weight)).toEqual([100, 0]);
  });

  it('manages a GRPCRoute the same way', async () => {
    const route: Json = { ...httpRoute(), kind: 'GRPCRoute' };
    route.spec.rules[0].matches = [{ method: { service: 'shop.Cart', method: 'Debug' } }];
    delete route.spec.rules[1].matches;
    delete route.spec.rules[1].filters;
    delete route.spec.rules[1].timeouts;
    const { api, router } = setup(route, gatewaySpec({ grpcRoute: { name: 'product-service' } }));
    await router.setRoute({ weight: 5 });
    expect(api.route.spec.rules[1].backendRefs.map((r: Json) => r.weight)).toEqual([95, 5]);
    expect(api.route.spec.rules[0]).toStrictEqual(route.spec.rules[0]);
  });

  it.each([
    [
      'a missing route',
      (r: Json) => (r.metadata.name = 'other'),
      /HTTPRoute product-service was not found.*backendRefs: \[\{name: product-service-stable/,
    ],
    [
      'no rule to both Services',
      (r: Json) => r.spec.rules[1].backendRefs.pop(),
      /no rule with backendRefs to both Service product-service-stable and Service product-service-canary/,
    ],
    [
      'a third backend',
      (r: Json) => r.spec.rules[1].backendRefs.push({ name: 'legacy', port: 80, weight: 5 }),
      /rules\[1\] "primary" also sends traffic to Service legacy.*rule of their own/,
    ],
    [
      'a backend in another namespace',
      (r: Json) => (r.spec.rules[1].backendRefs[1].namespace = 'staging'),
      /no rule with backendRefs to both/,
    ],
    [
      'a Service listed twice',
      (r: Json) => r.spec.rules[1].backendRefs.push({ name: 'product-service-canary', port: 81 }),
      /lists Service product-service-canary 2 times/,
    ],
  ])('refuses %s, naming the fix, and writes nothing', async (_name, edit, message) => {
    const route = httpRoute();
    edit(route);
    const { api, router } = setup(route);
    const inspected = await router.inspect();
    expect(inspected.ok).toBe(false);
    const text = inspected.ok ? '' : inspected.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(/^spec\.trafficRouting\.gatewayAPI\.httpRoute\.name: /);
    expect(text).toMatch(message);
    await expect(router.setRoute({ weight: 5 })).rejects.toThrow(message);
    expect(api.patches).toHaveLength(0);
  });

  it('names the rules that exist when the named rule does not', async () => {
    const { router } = setup(
      httpRoute(),
      gatewaySpec({ httpRoute: { name: 'product-service', rule: 'main' } }),
    );
    const inspected = await router.inspect();
    expect(inspected).toMatchObject({
      ok: false,
      problems: [
        {
          path: 'spec.trafficRouting.gatewayAPI.httpRoute.rule',
          message: expect.stringMatching(/no rule named "main" \(named rules: "testers", "primary"\)/),
        },
      ],
    });
  });
});
