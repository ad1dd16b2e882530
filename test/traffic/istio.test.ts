import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import {
  checkDestinationRule,
  createIstioRouter,
  findManagedRoutes,
  weightPatch,
  type IstioSpec,
} from '../../src/traffic/istio.js';
import { RoutingProblemsError, type Problem } from '../../src/traffic/router.js';
import { FakeIstioApi } from './fake-istio-api.js';
import { applyMergePatch } from './merge-patch.js';

const NS = 'production';
// The shared example's routing (test/examples checks this copy against ../shared/examples when it is there).
const EXAMPLE = fileURLToPath(new URL('../sandbox/fixtures/istio-product-service.yaml', import.meta.url));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function example(kind: 'VirtualService' | 'DestinationRule'): Json {
  const docs = parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS() as Json | null);
  const found = docs.find((d) => d?.kind === kind);
  if (!found) throw new Error(`${EXAMPLE} has no ${kind}`);
  return found;
}

function istioSpec(
  virtualService: { name: string; routes?: string[] } = { name: 'product-service' },
): IstioSpec {
  return rolloutSpecSchema.parse({
    targetRef: { name: 'product-service' },
    trafficRouting: { istio: { virtualService, destinationRule: { name: 'product-service' } } },
  }).trafficRouting.istio!;
}

/** The object without the two managed weights of http[1] (the example's weighted route) and resourceVersion. */
function exceptManagedWeights(vs: Json): Json {
  const copy = structuredClone(vs);
  delete copy.metadata.resourceVersion;
  for (const destination of copy.spec.http[1].route) delete destination.weight;
  return copy;
}

function weightsOf(vs: Json): { stable: unknown; canary: unknown } {
  const route = vs.spec.http[1].route as Json[];
  return { stable: route[0]?.weight, canary: route[1]?.weight };
}

function expectProblem(problems: Problem[], path: string, ...fix: (string | RegExp)[]): void {
  const problem = problems.find((p) => p.path === path);
  expect(problem, `a problem on ${path} in ${JSON.stringify(problems)}`).toBeDefined();
  for (const text of fix) expect(problem?.message).toMatch(text);
}

describe('Istio router on the example product-service', () => {
  let api: FakeIstioApi;
  let original: Json;

  beforeEach(() => {
    api = new FakeIstioApi();
    api.putVirtualService(NS, example('VirtualService'));
    api.putDestinationRule(NS, example('DestinationRule'));
    original = api.virtualServices.get(`${NS}/product-service`) as Json;
  });

  const stored = () => api.virtualServices.get(`${NS}/product-service`) as Json;

  it('finds the weighted route and leaves the x-canary header route to the user', async () => {
    const managed = findManagedRoutes(stored(), istioSpec());
    expect(managed).toEqual({
      ok: true,
      routes: [{ kind: 'http', index: 1, stable: 0, canary: 1 }],
      canaryWeight: 10,
      inSync: true,
      hosts: ['product-service'],
    });
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 10,
      inSync: true,
      host: 'product-service.production.svc.cluster.local',
      added: {},
    });
  });

  it('runs a whole rollout 5 → 25 → 50 → 100 → 0 changing nothing but the two weights', async () => {
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    for (const weight of [5, 25, 50, 100, 0]) {
      await router.setRoute({ weight });
      const now = stored();
      expect(weightsOf(now)).toEqual({ stable: 100 - weight, canary: weight });
      expect(exceptManagedWeights(now)).toStrictEqual(exceptManagedWeights(original));
      // The user's own parts, field for field.
      expect(now.spec.http[0]).toStrictEqual(original.spec.http[0]);
      expect(now.spec.http[1].retries).toStrictEqual({ attempts: 3, perTryTimeout: '2s' });
      expect(now.spec.http[1].timeout).toBe('10s');
      expect(now.spec.hosts).toStrictEqual(['product-service']);
      expect(await router.inspect()).toEqual({
        ok: true,
        canaryWeight: weight,
        inSync: true,
        host: 'product-service.production.svc.cluster.local',
        added: {},
      });
    }
    expect(api.patches).toHaveLength(5);
  });

  it('sends no patch when the weights already match', async () => {
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    await router.setRoute({ weight: 10 });
    expect(api.patches).toHaveLength(0);
    expect(stored().metadata.resourceVersion).toBe(original.metadata.resourceVersion);
  });

  it('re-reads and retries after a 409, keeping the concurrent edit', async () => {
    api.beforePatch = (attempt) => {
      if (attempt === 1)
        api.editVirtualService(NS, 'product-service', (vs) => ((vs as Json).spec.http[1].timeout = '20s'));
    };
    const router = createIstioRouter({
      api,
      namespace: NS,
      istioSpec: istioSpec(),
      retry: { minTimeout: 0 },
    });
    await router.setRoute({ weight: 25 });
    expect(api.patches).toHaveLength(2);
    expect(weightsOf(stored())).toEqual({ stable: 75, canary: 25 });
    expect(stored().spec.http[1].timeout).toBe('20s');
  });

  it('gives up with the 409 after its retries when the conflict persists', async () => {
    api.beforePatch = () => api.editVirtualService(NS, 'product-service', () => {});
    const router = createIstioRouter({
      api,
      namespace: NS,
      istioSpec: istioSpec(),
      retry: { retries: 2, minTimeout: 0 },
    });
    await expect(router.setRoute({ weight: 25 })).rejects.toMatchObject({ code: 409 });
    expect(api.patches).toHaveLength(3);
    expect(weightsOf(stored())).toEqual({ stable: 90, canary: 10 });
  });

  it('does not retry errors other than 409', async () => {
    api.beforePatch = () => {
      throw Object.assign(new Error('admission webhook denied the request'), { code: 422 });
    };
    const router = createIstioRouter({
      api,
      namespace: NS,
      istioSpec: istioSpec(),
      retry: { minTimeout: 0 },
    });
    await expect(router.setRoute({ weight: 25 })).rejects.toMatchObject({ code: 422 });
    expect(api.patches).toHaveLength(1);
  });

  it('refuses weights outside 0..100 without touching the VirtualService', async () => {
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    await expect(router.setRoute({ weight: 101 })).rejects.toThrow(/0 to 100/);
    await expect(router.setRoute({ weight: 2.5 })).rejects.toThrow(/whole number/);
    expect(api.patches).toHaveLength(0);
  });

  it('does not patch a VirtualService it cannot manage, and says why', async () => {
    api.editVirtualService(NS, 'product-service', (vs) => (vs as Json).spec.http[1].route.pop());
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    const error = await router.setRoute({ weight: 25 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RoutingProblemsError);
    expectProblem(
      (error as RoutingProblemsError).problems,
      'spec.trafficRouting.istio.virtualService.routes',
    );
    expect(api.patches).toHaveLength(0);
  });

  it('brings named routes that disagree back in step', async () => {
    api.editVirtualService(NS, 'product-service', (vs) => {
      const spec = (vs as Json).spec;
      spec.http[1].name = 'primary';
      spec.http.push({
        name: 'mobile',
        match: [{ uri: { prefix: '/m' } }],
        route: structuredClone(spec.http[1].route),
      });
      spec.http[2].route[1].weight = 40;
      spec.http[2].route[0].weight = 60;
    });
    const spec = istioSpec({ name: 'product-service', routes: ['primary', 'mobile'] });
    const router = createIstioRouter({ api, namespace: NS, istioSpec: spec });
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 10,
      inSync: false,
      host: 'product-service.production.svc.cluster.local',
      added: {},
    });
    await router.setRoute({ weight: 10 });
    const http = stored().spec.http as Json[];
    expect(http.map((r) => r.route?.map((d: Json) => d.weight))).toEqual([[undefined], [90, 10], [90, 10]]);
    expect(http[2]?.match).toEqual([{ uri: { prefix: '/m' } }]);
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 10,
      inSync: true,
      host: 'product-service.production.svc.cluster.local',
      added: {},
    });
  });

  it('recognises routing that predates the track subsets, so adoption can prepare -stable first', async () => {
    const hostOnly: Json = {
      ...example('VirtualService'),
      spec: { hosts: ['product-service'], http: [{ route: [{ destination: { host: 'product-service' } }] }] },
    };
    const api = new FakeIstioApi();
    api.putVirtualService(NS, hostOnly);
    api.putDestinationRule(NS, example('DestinationRule'));
    const router = createIstioRouter({ api, namespace: NS, istioSpec: istioSpec() });
    expect(await router.inspect()).toMatchObject({ ok: false, awaitingSubsets: true });

    // Not when the DestinationRule is wrong too, nor when the route uses other subsets: those are mistakes.
    const wrongDr = example('DestinationRule');
    wrongDr.spec.subsets[1].labels = { version: 'v2' };
    api.putDestinationRule(NS, wrongDr);
    expect(await router.inspect()).not.toHaveProperty('awaitingSubsets');
    api.putDestinationRule(NS, example('DestinationRule'));
    const otherSubsets: Json = structuredClone(hostOnly);
    otherSubsets.spec.http[0].route[0].destination.subset = 'v1';
    api.putVirtualService(NS, otherSubsets);
    expect(await router.inspect()).not.toHaveProperty('awaitingSubsets');
  });

  it('reports a missing VirtualService and DestinationRule together on their name fields', async () => {
    const empty = new FakeIstioApi();
    const result = await createIstioRouter({ api: empty, namespace: NS, istioSpec: istioSpec() }).inspect();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectProblem(result.problems, 'spec.trafficRouting.istio.virtualService.name', /not found/, /create it/);
    expectProblem(
      result.problems,
      'spec.trafficRouting.istio.destinationRule.name',
      /not found/,
      'stepwise.dev/track: stable',
      'stepwise.dev/track: canary',
    );
  });
});

describe('weightPatch', () => {
  const vs = example('VirtualService');
  vs.metadata.resourceVersion = '42';

  it('carries the whole http array as read, the resourceVersion, and nothing else', () => {
    vs.spec.http[1].route[0].futureField = { keep: ['me'] };
    vs.spec.http[1].mirror = { host: 'shadow' };
    const patch = weightPatch(vs, [{ kind: 'http', index: 1, stable: 0, canary: 1 }], 30) as Json;
    expect(Object.keys(patch).sort()).toEqual(['metadata', 'spec']);
    expect(patch.metadata).toEqual({ resourceVersion: '42' });
    expect(Object.keys(patch.spec)).toEqual(['http']);
    const applied = applyMergePatch(vs, patch) as Json;
    expect(weightsOf(applied)).toEqual({ stable: 70, canary: 30 });
    expect(exceptManagedWeights(applied)).toStrictEqual(exceptManagedWeights(vs));
    expect(applied.spec.http[1].route[0].futureField).toEqual({ keep: ['me'] });
    expect(weightsOf(vs)).toEqual({ stable: 90, canary: 10 });
  });

  it('adds the weight keys when the user wrote none', () => {
    const bare = structuredClone(vs);
    for (const d of bare.spec.http[1].route) delete d.weight;
    expect(findManagedRoutes(bare, istioSpec())).toMatchObject({ ok: true, canaryWeight: 0, inSync: false });
    const applied = applyMergePatch(
      bare,
      weightPatch(bare, [{ kind: 'http', index: 1, stable: 0, canary: 1 }], 5),
    ) as Json;
    expect(weightsOf(applied)).toEqual({ stable: 95, canary: 5 });
  });
});

describe('problems the user must fix', () => {
  const VS = 'spec.trafficRouting.istio.virtualService';
  const DR = 'spec.trafficRouting.istio.destinationRule';
  const problemsOf = (vs: Json, spec: IstioSpec = istioSpec()) => {
    const result = findManagedRoutes(vs, spec);
    if (result.ok) throw new Error('expected problems');
    return result.problems;
  };
  let vs: Json;
  let dr: Json;
  beforeEach(() => {
    vs = example('VirtualService');
    dr = example('DestinationRule');
  });

  it('VirtualService missing', () => {
    expectProblem(
      problemsOf(undefined as unknown as Json),
      `${VS}.name`,
      /product-service was not found/,
      /create it/,
    );
  });

  it('named route missing', () => {
    vs.spec.http[1].name = 'primary';
    const problems = problemsOf(vs, istioSpec({ name: 'product-service', routes: ['main'] }));
    expectProblem(problems, `${VS}.routes[0]`, /no http route named "main"/, /"primary"/, /add name: main/);
  });

  it('no weighted route', () => {
    vs.spec.http.splice(1, 1);
    expectProblem(
      problemsOf(vs),
      `${VS}.routes`,
      /no http route with destinations to both/,
      /subset: stable/,
    );
  });

  it('two weighted routes and no `routes` to choose', () => {
    vs.spec.http.push({ name: 'mobile', route: structuredClone(vs.spec.http[1].route) });
    expectProblem(
      problemsOf(vs),
      `${VS}.routes`,
      /2 http routes to both subsets/,
      /routes: \[.*mobile\]/,
      /name/,
    );
  });

  it('named route with only one subset', () => {
    vs.spec.http[1].name = 'primary';
    vs.spec.http[1].route.pop();
    const problems = problemsOf(vs, istioSpec({ name: 'product-service', routes: ['primary'] }));
    expectProblem(
      problems,
      `${VS}.routes[0]`,
      /no destination with subset canary/,
      /subset: canary}, weight: 0/,
    );
  });

  it('managed route with a third destination', () => {
    vs.spec.http[1].route.push({ destination: { host: 'legacy-product', subset: 'v0' }, weight: 0 });
    expectProblem(
      problemsOf(vs),
      `${VS}.name`,
      /also sends traffic to legacy-product subset v0/,
      /move the others/,
    );
  });

  it('stable and canary on different hosts', () => {
    vs.spec.http[1].route[1].destination.host = 'product-service-next';
    expectProblem(problemsOf(vs), `${VS}.name`, /same host/);
  });

  it('DestinationRule missing', () => {
    expectProblem(
      checkDestinationRule(undefined, istioSpec().destinationRule!),
      `${DR}.name`,
      /not found/,
      /stepwise.dev\/track: canary/,
    );
  });

  it('DestinationRule subset missing', () => {
    dr.spec.subsets.pop();
    const problems = checkDestinationRule(dr, istioSpec().destinationRule!);
    expect(problems).toHaveLength(1);
    expectProblem(
      problems,
      `${DR}.canarySubset`,
      /no subset "canary"/,
      /- name: canary\n {2}labels: \{stepwise.dev\/track: canary\}/,
    );
  });

  it('DestinationRule subset selecting version: v2 instead of the track label', () => {
    dr.spec.subsets[1].labels = { version: 'v2' };
    const problems = checkDestinationRule(dr, istioSpec().destinationRule!);
    expect(problems).toHaveLength(1);
    expectProblem(
      problems,
      `${DR}.canarySubset`,
      /selects \{version: v2\}/,
      /set the subset's labels to \{stepwise.dev\/track: canary\}/,
    );
  });

  it('accepts the example DestinationRule, whatever else its subsets carry', () => {
    expect(checkDestinationRule(dr, istioSpec().destinationRule!)).toEqual([]);
    dr.spec.subsets[0].labels.app = 'product-service';
    expect(checkDestinationRule(dr, istioSpec().destinationRule!)).toEqual([]);
  });
});

describe('the DestinationRule host, matched as Istio matches it', () => {
  const DR = 'spec.trafficRouting.istio.destinationRule';
  const inspectWithRuleHost = async (host: string | undefined, namespace = NS) => {
    const api = new FakeIstioApi();
    api.putVirtualService(namespace, example('VirtualService'));
    const dr = example('DestinationRule');
    if (host === undefined) delete dr.spec.host;
    else dr.spec.host = host;
    api.putDestinationRule(namespace, dr);
    return createIstioRouter({ api, namespace, istioSpec: istioSpec() }).inspect();
  };

  it('accepts the short name, its FQDN in the namespace, and wildcards covering it', async () => {
    for (const host of [
      'product-service',
      'product-service.production.svc.cluster.local',
      '*.production.svc.cluster.local',
      '*.svc.cluster.local',
      '*',
    ]) {
      expect(await inspectWithRuleHost(host), host).toMatchObject({
        ok: true,
        canaryWeight: 10,
        inSync: true,
      });
    }
  });

  it('refuses a DestinationRule for another host, to which Istio would not apply the subsets (503)', async () => {
    for (const host of [
      'reviews',
      'product-service.staging.svc.cluster.local',
      '*.staging.svc.cluster.local',
      'product-service.production',
    ]) {
      const result = await inspectWithRuleHost(host);
      expect(result.ok, host).toBe(false);
      if (result.ok) continue;
      expectProblem(
        result.problems,
        `${DR}.name`,
        `is for host ${host}`,
        'product-service (product-service.production.svc.cluster.local)',
        /503/,
        /set its spec.host to product-service/,
      );
    }
  });

  it('refuses a DestinationRule without spec.host', async () => {
    const result = await inspectWithRuleHost(undefined);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expectProblem(result.problems, `${DR}.name`, /has no spec.host/, /set it to product-service/);
  });

  it('resolves short names in the Rollout namespace with the cluster domain given', async () => {
    const api = new FakeIstioApi();
    api.putVirtualService(NS, example('VirtualService'));
    const dr = example('DestinationRule');
    dr.spec.host = 'product-service.production.svc.corp.example';
    api.putDestinationRule(NS, dr);
    const spec = istioSpec();
    expect(await createIstioRouter({ api, namespace: NS, istioSpec: spec }).inspect()).toMatchObject({
      ok: false,
    });
    expect(
      await createIstioRouter({
        api,
        namespace: NS,
        istioSpec: spec,
        clusterDomain: 'corp.example',
      }).inspect(),
    ).toMatchObject({ ok: true, canaryWeight: 10, inSync: true });
  });
});

describe('tls and tcp routes to the same subsets', () => {
  const VS = 'spec.trafficRouting.istio.virtualService';
  const split = (weight: number) => [
    { destination: { host: 'product-service', subset: 'stable' }, weight: 100 - weight },
    { destination: { host: 'product-service', subset: 'canary' }, weight },
  ];
  const withL4 = (): Json => {
    const vs = example('VirtualService');
    vs.spec.tls = [
      { match: [{ port: 443, sniHosts: ['shop.example.com'] }], route: split(10) },
      { match: [{ port: 443, sniHosts: ['admin.example.com'] }], route: split(0).slice(0, 1) },
    ];
    vs.spec.tcp = [{ match: [{ port: 5432 }], route: split(10) }];
    return vs;
  };
  const spec = (extra: Json) =>
    rolloutSpecSchema.parse({
      targetRef: { name: 'product-service' },
      trafficRouting: {
        istio: {
          virtualService: { name: 'product-service', ...extra },
          destinationRule: { name: 'product-service' },
        },
      },
    }).trafficRouting.istio!;

  it('moves the listed tls and tcp routes with the http route, changing nothing else', async () => {
    const api = new FakeIstioApi();
    api.putVirtualService(NS, withL4());
    api.putDestinationRule(NS, example('DestinationRule'));
    const original = structuredClone(api.virtualServices.get(`${NS}/product-service`) as Json);
    const router = createIstioRouter({
      api,
      namespace: NS,
      istioSpec: spec({ tlsRoutes: [{ sniHosts: ['shop.example.com'] }], tcpRoutes: [{ port: 5432 }] }),
    });
    expect(await router.inspect()).toMatchObject({ ok: true, canaryWeight: 10, inSync: true });
    await router.setRoute({ weight: 50 });
    const now = api.virtualServices.get(`${NS}/product-service`) as Json;
    expect(weightsOf(now)).toEqual({ stable: 50, canary: 50 });
    expect(now.spec.tls[0].route.map((d: Json) => d.weight)).toEqual([50, 50]);
    expect(now.spec.tcp[0].route.map((d: Json) => d.weight)).toEqual([50, 50]);
    expect(now.spec.tls[1]).toStrictEqual(original.spec.tls[1]);
    for (const vs of [now, original]) {
      delete vs.metadata.resourceVersion;
      for (const route of [vs.spec.http[1], vs.spec.tls[0], vs.spec.tcp[0]])
        for (const d of route.route) delete d.weight;
    }
    expect(now).toStrictEqual(original);
  });

  it('checks the DestinationRule host against every managed route, tls and tcp too', async () => {
    const api = new FakeIstioApi();
    const vs = withL4();
    vs.spec.tcp[0].route = vs.spec.tcp[0].route.map((d: Json) => ({
      ...d,
      destination: { ...d.destination, host: 'db' },
    }));
    api.putVirtualService(NS, vs);
    api.putDestinationRule(NS, example('DestinationRule'));
    const router = createIstioRouter({
      api,
      namespace: NS,
      istioSpec: spec({ tlsRoutes: [{ sniHosts: ['shop.example.com'] }], tcpRoutes: [{ port: 5432 }] }),
    });
    const result = await router.inspect();
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toHaveLength(1);
      expectProblem(
        result.problems,
        'spec.trafficRouting.istio.destinationRule.name',
        'sends traffic to db (db.production.svc.cluster.local)',
      );
    }
  });

  it('refuses a tls or tcp split the Rollout does not list, instead of leaving it behind', async () => {
    const result = findManagedRoutes(withL4(), spec({ tcpRoutes: [{ port: 5432 }] }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expectProblem(
      result.problems,
      `${VS}.tlsRoutes`,
      'tls[0] (port 443; sniHosts shop.example.com) also splits between subsets stable and canary',
      'add {port: 443, sniHosts: [shop.example.com]} to tlsRoutes',
    );
  });

  it('says which routes a selector matches when it does not pick exactly one', () => {
    const result = findManagedRoutes(
      withL4(),
      spec({ tlsRoutes: [{ port: 443 }], tcpRoutes: [{ port: 5433 }] }),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectProblem(result.problems, `${VS}.tlsRoutes[0]`, /matches 2 tls routes/, /exactly one/);
    expectProblem(result.problems, `${VS}.tcpRoutes[0]`, /matches 0 tcp routes/, /tcp\[0\] \(port 5432\)/);
  });
});

describe('shapes Stepwise does not manage, named with what to write instead', () => {
  const VS = 'spec.trafficRouting.istio.virtualService';
  const problemsOf = (vs: Json) => {
    const result = findManagedRoutes(vs, istioSpec());
    if (result.ok) throw new Error('expected problems');
    return result.problems;
  };

  it('a root VirtualService that delegates: name the delegate instead', () => {
    const vs = example('VirtualService');
    vs.spec.http = [
      { match: [{ uri: { prefix: '/shop' } }], delegate: { name: 'shop', namespace: 'production' } },
    ];
    expectProblem(
      problemsOf(vs),
      `${VS}.routes`,
      'http[0] (unnamed) delegates to VirtualService production/shop',
      'set virtualService.name to the delegate VirtualService',
    );
  });

  it('a split between two hosts under a Rollout naming a DestinationRule: name the Services, or use subsets', () => {
    const vs = example('VirtualService');
    vs.spec.http[1].route = [
      { destination: { host: 'product-service-stable' }, weight: 90 },
      { destination: { host: 'product-service-canary' }, weight: 10 },
    ];
    const problems = problemsOf(vs);
    expect(problems).toHaveLength(1);
    expectProblem(
      problems,
      `${VS}.routes`,
      'splits traffic between hosts product-service-stable and product-service-canary',
      'remove destinationRule and set stableService: product-service-stable and canaryService: product-service-canary',
      '{destination: {host: <service>, subset: stable}, weight: 100}',
    );
    expect(problems[0]?.message).not.toMatch(/also/);
  });

  it('a subset named twice: one destination per subset', () => {
    const vs = example('VirtualService');
    vs.spec.http[1].route.push({ destination: { host: 'legacy-product', subset: 'stable' }, weight: 0 });
    expectProblem(
      problemsOf(vs),
      `${VS}.name`,
      'names subset stable 2 times (product-service subset stable and legacy-product subset stable)',
      'keep one destination with subset stable',
    );
  });
});

describe('route names', () => {
  it('refuses a named route that the VirtualService has twice, since only one would move', () => {
    const vs = example('VirtualService');
    vs.spec.http[1].name = 'primary';
    vs.spec.http.push({ ...structuredClone(vs.spec.http[1]), match: [{ uri: { prefix: '/m' } }] });
    const result = findManagedRoutes(vs, istioSpec({ name: 'product-service', routes: ['primary'] }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectProblem(
      result.problems,
      'spec.trafficRouting.istio.virtualService.routes[0]',
      'has 2 http routes named "primary" (http[1], http[2])',
      'give each route a name of its own',
    );
  });
});
