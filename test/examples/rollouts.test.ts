import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { stepKind, stepTraffic } from '../../src/api/steps.js';
import { validateRollout } from '../../src/api/validate.js';
import { createGatewayRouter } from '../../src/traffic/gateway-api.js';
import { createIstioRouter } from '../../src/traffic/istio.js';
import type { TrafficRouter } from '../../src/traffic/router.js';
import { FakeGatewayApi } from '../traffic/fake-gateway-api.js';
import { FakeIstioApi } from '../traffic/fake-istio-api.js';
import { changedPaths } from '../support/changed-paths.js';

const ROOT = fileURLToPath(new URL('../../rollouts', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const rollouts = yamlFiles(ROOT).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o) => o?.kind === 'Rollout')
    .map((o) => ({ file: file.slice(ROOT.length + 1), object: o })),
);

describe('the examples users copy from rollouts/', () => {
  it('include the product-service (subset split, host split, HTTPRoute on Istio, ambient, Linkerd, Cilium, GRPCRoute), manual-gate, mirror-preview, custom-metric and Prometheus-auth Rollouts', () => {
    expect(rollouts.map((r) => r.file).sort()).toEqual([
      'custom-metric/rollout.yaml',
      'manual-gate/rollout.yaml',
      'mirror-preview/rollout.yaml',
      'product-service-ambient/rollout.yaml',
      'product-service-cilium/rollout.yaml',
      'product-service-grpcroute/rollout.yaml',
      'product-service-host-split/rollout.yaml',
      'product-service-httproute/rollout.yaml',
      'product-service-linkerd/rollout.yaml',
      'product-service/rollout.yaml',
      'prometheus-auth/rollout.yaml',
    ]);
  });

  it.each(rollouts)('$file passes validation', ({ object }) => {
    const result = validateRollout(object);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });
});

describe('the product-service routing example', () => {
  const docs = (path: string) =>
    parseAllDocuments(readFileSync(path, 'utf8'))
      .map((d) => d.toJS() as { kind?: string; spec?: unknown } | null)
      .filter((o) => o?.kind === 'VirtualService' || o?.kind === 'DestinationRule');
  const fixture = fileURLToPath(new URL('../sandbox/fixtures/istio-product-service.yaml', import.meta.url));
  const shared = fileURLToPath(
    new URL('../../../shared/examples/istio-product-service.yaml', import.meta.url),
  );

  it('is the VirtualService and DestinationRule of the shared example, unchanged', () => {
    expect(docs(join(ROOT, 'product-service/istio.yaml'))).toEqual(docs(fixture));
  });

  it.skipIf(!existsSync(shared))('matches ../shared/examples when it is there', () => {
    expect(docs(fixture)).toEqual(docs(shared));
  });
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the routing examples, through the router of their mode', () => {
  const load = (dir: string, kind: string): Json => {
    const found = yamlFiles(join(ROOT, dir))
      .flatMap((file) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Json | null))
      .find((o) => o?.kind === kind);
    if (!found) throw new Error(`rollouts/${dir} has no ${kind}`);
    return found;
  };
  const specOf = (dir: string) => {
    const result = validateRollout(load(dir, 'Rollout'));
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.spec;
  };
  const ns = 'production';
  // The examples send the canary's traffic to product-service-canary: its callers' 503s are the canary's.
  const CANARY_HOST = 'product-service-canary.production.svc.cluster.local';

  const cases: [string, () => { router: TrafficRouter; stored: () => Json }, RegExp][] = [
    [
      'product-service-host-split',
      () => {
        const api = new FakeIstioApi();
        api.putVirtualService(ns, load('product-service-host-split', 'VirtualService'));
        const istioSpec = specOf('product-service-host-split').trafficRouting.istio!;
        const router = createIstioRouter({ api, namespace: ns, istioSpec, target: 'product-service' });
        return { router, stored: () => api.virtualServices.get(`${ns}/product-service`) as Json };
      },
      /^\/spec\/http\/1\/route\/[01]\/weight$/,
    ],
    // GAMMA: one HTTPRoute attached to the Service, whichever mesh's metrics the Rollout reads, and a GRPCRoute.
    ...(
      [
        ['product-service-httproute', 'HTTPRoute'],
        ['product-service-ambient', 'HTTPRoute'],
        ['product-service-linkerd', 'HTTPRoute'],
        ['product-service-cilium', 'HTTPRoute'],
        ['product-service-grpcroute', 'GRPCRoute'],
      ] as const
    ).map(([dir, kind]): (typeof cases)[number] => [
      dir,
      () => {
        const api = new FakeGatewayApi(load(dir, kind));
        const gatewaySpec = specOf(dir).trafficRouting.gatewayAPI!;
        const router = createGatewayRouter({ api, namespace: ns, gatewaySpec, target: 'product-service' });
        return { router, stored: () => api.route };
      },
      /^\/spec\/rules\/1\/backendRefs\/[01]\/weight$/,
    ]),
  ];

  it.each(cases)('%s: the router manages it, moving only the two weights', async (_dir, make, weightPath) => {
    const { router, stored } = make();
    expect(await router.inspect()).toMatchObject({
      ok: true,
      canaryWeight: 0,
      inSync: true,
      host: CANARY_HOST,
      added: {},
    });
    const before = structuredClone(stored());
    await router.setRoute({ weight: 25 });
    const changed = changedPaths(before, stored()).filter((p) => p !== '/metadata/resourceVersion');
    expect(changed).toHaveLength(2);
    for (const path of changed) expect(path).toMatch(weightPath);
    expect(await router.inspect()).toMatchObject({
      ok: true,
      canaryWeight: 25,
      inSync: true,
      host: CANARY_HOST,
      added: {},
    });
  });
});

describe('the mirror-preview example', () => {
  it('runs its steps on the product-service VirtualService and leaves it as written when the rollout ends', async () => {
    const [rollout] = rollouts.filter((r) => r.file === 'mirror-preview/rollout.yaml');
    const result = validateRollout(rollout!.object);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const steps = result.spec.steps;
    expect(steps.map((s) => stepKind(s))).toEqual(['mirror', 'headerRoute', 'weight', 'weight', 'weight']);
    const api = new FakeIstioApi();
    const routing = parseAllDocuments(readFileSync(join(ROOT, 'product-service/istio.yaml'), 'utf8')).map(
      (d) => d.toJS() as Json,
    );
    api.putVirtualService(
      'production',
      routing.find((o) => o.kind === 'VirtualService')!,
    );
    api.putDestinationRule(
      'production',
      routing.find((o) => o.kind === 'DestinationRule')!,
    );
    const istioSpec = result.spec.trafficRouting.istio!;
    const router = createIstioRouter({ api, namespace: 'production', istioSpec, target: 'product-service' });
    await router.setRoute({ weight: 0 });
    const written = structuredClone(api.virtualServices.get('production/product-service') as Json);
    for (let i = 0; i < steps.length; i++) {
      await router.setRoute(stepTraffic(steps, i));
      const inspection = await router.inspect();
      expect(inspection, JSON.stringify(inspection)).toMatchObject({ ok: true, inSync: true });
    }
    await router.setRoute({ weight: 0 });
    const after = api.virtualServices.get('production/product-service') as Json;
    expect({ ...after, metadata: { ...after.metadata, resourceVersion: undefined } }).toStrictEqual({
      ...written,
      metadata: { ...written.metadata, resourceVersion: undefined },
    });
  });
});
