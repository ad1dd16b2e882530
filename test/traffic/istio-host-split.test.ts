import { describe, expect, it } from 'vitest';
import { rolloutSpecSchema } from '../../src/api/schema.js';
import { createIstioRouter, type IstioSpec } from '../../src/traffic/istio.js';
import { FakeIstioApi } from './fake-istio-api.js';

const NS = 'production';
/** The canary Service, whose callers' 503s the analysis reads. */
const CANARY_HOST = 'product-service-canary.production.svc.cluster.local';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function hostSplitSpec(istio: Json = {}): IstioSpec {
  return rolloutSpecSchema.parse({
    targetRef: { name: 'product-service' },
    trafficRouting: { istio: { virtualService: { name: 'product-service' }, ...istio } },
  }).trafficRouting.istio!;
}

/** A VirtualService as Argo Rollouts' host-level split writes it: one header route, one split to two Services. */
function hostSplitVs(stable = 'product-service-stable', canary = 'product-service-canary'): Json {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'product-service', namespace: NS },
    spec: {
      hosts: ['product-service'],
      http: [
        {
          name: 'testers',
          match: [{ headers: { 'x-canary': { exact: 'always' } } }],
          route: [{ destination: { host: canary } }],
        },
        {
          name: 'primary',
          retries: { attempts: 3, perTryTimeout: '2s' },
          route: [
            { destination: { host: stable, port: { number: 8080 } }, weight: 100 },
            { destination: { host: canary, port: { number: 8080 } }, weight: 0 },
          ],
        },
      ],
    },
  };
}

function setup(vs: Json, spec: IstioSpec) {
  const api = new FakeIstioApi();
  api.putVirtualService(NS, vs);
  const router = createIstioRouter({ api, namespace: NS, istioSpec: spec, target: 'product-service' });
  const stored = () => api.virtualServices.get(`${NS}/product-service`) as Json;
  return { api, router, stored };
}

describe('Istio host split: the route sends to the two track Services', () => {
  it('moves only the two weights of the split between <app>-stable and <app>-canary', async () => {
    const { router, stored } = setup(hostSplitVs(), hostSplitSpec());
    const original = structuredClone(stored());
    expect(await router.inspect()).toEqual({
      ok: true,
      canaryWeight: 0,
      inSync: true,
      host: CANARY_HOST,
      added: {},
    });
    for (const weight of [5, 50, 100, 0]) {
      await router.setRoute({ weight });
      const now = structuredClone(stored());
      expect(now.spec.http[1].route.map((d: Json) => d.weight)).toEqual([100 - weight, weight]);
      for (const d of [...now.spec.http[1].route, ...original.spec.http[1].route]) delete d.weight;
      delete now.metadata.resourceVersion;
      const expected = structuredClone(original);
      delete expected.metadata.resourceVersion;
      expect(now).toStrictEqual(expected);
      expect(await router.inspect()).toEqual({
        ok: true,
        canaryWeight: weight,
        inSync: true,
        host: CANARY_HOST,
        added: {},
      });
    }
  });

  it('reads no DestinationRule in a host split', async () => {
    const { api, router } = setup(hostSplitVs(), hostSplitSpec());
    api.getDestinationRule = () => Promise.reject(new Error('a host split must not read a DestinationRule'));
    expect(await router.inspect()).toMatchObject({ ok: true });
  });

  it('takes the Services named in the Rollout, and their FQDNs as Istio resolves them', async () => {
    const vs = hostSplitVs('web-blue.production.svc.cluster.local', 'web-green');
    const { router, stored } = setup(
      vs,
      hostSplitSpec({ stableService: 'web-blue', canaryService: 'web-green' }),
    );
    await router.setRoute({ weight: 25 });
    expect(stored().spec.http[1].route.map((d: Json) => [d.destination.host, d.weight])).toEqual([
      ['web-blue.production.svc.cluster.local', 75],
      ['web-green', 25],
    ]);
  });

  it('refuses a route that misses the canary Service, naming the Service and what to add', async () => {
    const vs = hostSplitVs('product-service-stable', 'product-service-next');
    const { router, api } = setup(vs, hostSplitSpec());
    const inspected = await router.inspect();
    expect(inspected.ok).toBe(false);
    const text = inspected.ok ? '' : inspected.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    expect(text).toMatch(
      /no http route with destinations to both host product-service-stable and host product-service-canary/,
    );
    expect(text).toMatch(/\{destination: \{host: product-service-canary\}, weight: 0\}/);
    await expect(router.setRoute({ weight: 5 })).rejects.toThrow(/product-service-canary/);
    expect(api.patches).toHaveLength(0);
  });

  it('waits for adoption while the route still sends to the plain Service', async () => {
    const vs = hostSplitVs();
    vs.spec.http = [{ name: 'primary', route: [{ destination: { host: 'product-service' } }] }];
    const { router } = setup(vs, hostSplitSpec());
    expect(await router.inspect()).toMatchObject({ ok: false, awaitingSubsets: true });
  });
});
