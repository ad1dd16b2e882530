import { describe, expect, it } from 'vitest';
import type { BehaviourOf } from '../../sandbox/mesh/behaviour.js';
import type { HttpRoute, MeshConfig } from '../../sandbox/mesh/config.js';
import type { GatewayHttpRoute, HttpRouteFilter } from '../../sandbox/mesh/httproute.js';
import type { MirrorStat } from '../../sandbox/mesh/mirror.js';
import { MeshTraffic, type HeaderRequests, type RequestStat } from '../../sandbox/mesh/traffic.js';
import { NAMESPACE, productServiceMesh, trackDeployment } from './mesh-fixture.js';

const CANARY = 'product-service-canary';
const STABLE = 'product-service-stable';
const REQUESTS = 10_000;

/** Stable never fails; the canary (image tag v2) always does: any failed user request reached the canary. */
const stableFineCanaryBroken: BehaviourOf = (image) => ({
  errorRate: image.endsWith(':v2') ? 1 : 0,
  latencyMs: { p50: 50, p99: 200 },
});

const sum = <T extends { requests: number }>(stats: T[], where: (stat: T) => boolean = () => true) =>
  stats.filter(where).reduce((total, stat) => total + stat.requests, 0);

/** The fixture's VirtualService with only its weighted route (100/0), carrying `extra` (a mirror, a fault...). */
function istioMirrored(extra: Partial<HttpRoute>): MeshConfig {
  const config = productServiceMesh();
  const http = config.virtualServices[0]!.spec!.http!;
  const weighted = http[1]!;
  weighted.route![0]!.weight = 100;
  weighted.route![1]!.weight = 0;
  Object.assign(weighted, extra);
  config.virtualServices[0]!.spec!.http = [weighted];
  return config;
}

function run(config: MeshConfig, headerRequests: HeaderRequests = { share: 0, headers: {} }) {
  const traffic = new MeshTraffic({ seed: 11, behaviour: stableFineCanaryBroken, headerRequests });
  traffic.send(config, REQUESTS);
  return traffic;
}

/** istio_requests_total as exported, summed over the series whose labels include `where`. */
async function exported(traffic: MeshTraffic, where: Record<string, string>): Promise<number> {
  const metrics = await traffic.metrics.registry.getMetricsAsJSON();
  const requests = metrics.find((metric) => metric.name === 'istio_requests_total');
  return (requests?.values ?? [])
    .filter((value) => Object.entries(where).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((total, value) => total + value.value, 0);
}

describe('the sandbox mesh mirrors requests as Istio does', () => {
  it('copies every request to the canary when `mirror` has no percentage, and users see only stable answers', async () => {
    const traffic = run(istioMirrored({ mirror: { host: 'product-service', subset: 'canary' } }));
    const users = traffic.stats();
    expect(sum(users, (s) => s.workload === STABLE)).toBe(REQUESTS);
    expect(traffic.userRequests()).toEqual({ requests: REQUESTS, failed: 0 });
    const copies = traffic.mirrorStats();
    expect(sum(copies)).toBe(REQUESTS);
    expect(copies.every((c) => c.workload === CANARY && c.responseCode === 500 && c.routeIndex === 0)).toBe(
      true,
    );

    // The canary's sidecar reports each copy as the caller's request; the caller's sidecar reports none.
    const canaryAtDestination = { reporter: 'destination', destination_workload: CANARY };
    expect(await exported(traffic, canaryAtDestination)).toBe(REQUESTS);
    expect(
      await exported(traffic, {
        ...canaryAtDestination,
        source_workload: 'loadgenerator',
        destination_service: `product-service.${NAMESPACE}.svc.cluster.local`,
        response_code: '500',
        connection_security_policy: 'mutual_tls',
      }),
    ).toBe(REQUESTS);
    expect(await exported(traffic, { reporter: 'source', destination_workload: CANARY })).toBe(0);
    expect(await exported(traffic, { reporter: 'destination', destination_workload: STABLE })).toBe(REQUESTS);
  });

  it('copies about half the requests with mirrorPercentage 50', () => {
    const traffic = run(
      istioMirrored({
        mirror: { host: 'product-service', subset: 'canary' },
        mirrorPercentage: { value: 50 },
      }),
    );
    // Binomial(10,000, 0.5): the standard deviation is 50 copies.
    expect(sum(traffic.mirrorStats())).toBeGreaterThan(4_800);
    expect(sum(traffic.mirrorStats())).toBeLessThan(5_200);
    expect(traffic.userRequests().failed).toBe(0);
  });

  it('reads the deprecated mirrorPercent, the `mirrors` list, and copies nothing at an explicit 0%', () => {
    const canary = { host: 'product-service', subset: 'canary' };
    const deprecated = sum(run(istioMirrored({ mirror: canary, mirrorPercent: 20 })).mirrorStats());
    expect(deprecated).toBeGreaterThan(1_850);
    expect(deprecated).toBeLessThan(2_150);
    const listed = sum(
      run(istioMirrored({ mirrors: [{ destination: canary, percentage: { value: 30 } }] })).mirrorStats(),
    );
    expect(listed).toBeGreaterThan(2_800);
    expect(listed).toBeLessThan(3_200);
    expect(run(istioMirrored({ mirror: canary, mirrorPercentage: { value: 0 } })).mirrorStats()).toEqual([]);
  });

  it('mirrors no request the caller’s sidecar answers by itself (an injected abort)', () => {
    const traffic = run(
      istioMirrored({
        mirror: { host: 'product-service', subset: 'canary' },
        fault: { abort: { httpStatus: 503 } },
      }),
    );
    expect(traffic.mirrorStats()).toEqual([]);
    expect(traffic.userRequests()).toEqual({ requests: REQUESTS, failed: REQUESTS });
  });

  it('counts copies to a canary without ready pods as unserved, and exports nothing for them', async () => {
    const config = istioMirrored({ mirror: { host: 'product-service', subset: 'canary' } });
    config.deployments = config.deployments.map((d) =>
      d.metadata?.name === CANARY ? { ...d, status: { readyReplicas: 0 } } : d,
    );
    const traffic = run(config);
    expect(traffic.mirrorStats()).toEqual<MirrorStat[]>([
      {
        virtualService: `${NAMESPACE}/product-service`,
        routeIndex: 0,
        workload: 'unknown',
        responseCode: 503,
        withHeaders: false,
        requests: REQUESTS,
      },
    ]);
    expect(await exported(traffic, { destination_workload: CANARY })).toBe(0);
    expect(traffic.userRequests().failed).toBe(0);
  });
});

describe('the sandbox mesh routes a header route before the weighted route', () => {
  it('sends the requests carrying the tester cookie to the canary and the others by the weights (100/0)', () => {
    const config = istioMirrored({});
    const weighted = config.virtualServices[0]!.spec!.http![0]!;
    // As Stepwise writes a cookie match: a regular expression on the `cookie` header, placed before the managed route.
    config.virtualServices[0]!.spec!.http!.unshift({
      name: 'stepwise-product-service-header-0',
      match: [{ headers: { cookie: { regex: '(.*; )?canary=always(;.*)?' } } }],
      route: [{ destination: { host: 'product-service', subset: 'canary' }, weight: 100 }],
    });
    const traffic = run(config, { share: 0.3, headers: { Cookie: 'session=42; canary=always' } });
    const stats = traffic.stats();
    const tagged = stats.filter((s) => s.withHeaders);
    // 30% of 10,000 carry the cookie: about 3,000 (standard deviation 46).
    expect(sum(tagged)).toBeGreaterThan(2_800);
    expect(sum(tagged)).toBeLessThan(3_200);
    expect(tagged.every((s: RequestStat) => s.routeIndex === 0 && s.workload === CANARY)).toBe(true);
    expect(sum(stats, (s) => !s.withHeaders && s.workload !== STABLE)).toBe(0);
    expect(weighted.route![1]!.weight).toBe(0);
    // The canary fails every request: exactly the testers' requests failed.
    expect(traffic.userRequests()).toEqual({ requests: REQUESTS, failed: sum(tagged) });
  });
});

describe('the sandbox mesh mirrors requests by a Gateway API RequestMirror filter', () => {
  function gatewayMirrored(filters: HttpRouteFilter[]): MeshConfig {
    const route: GatewayHttpRoute = {
      kind: 'HTTPRoute',
      metadata: { name: 'product-service', namespace: NAMESPACE },
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'product-service' }],
        rules: [
          {
            name: 'primary',
            filters,
            backendRefs: [
              { name: STABLE, weight: 100 },
              { name: CANARY, weight: 0 },
            ],
          },
        ],
      },
    };
    return {
      virtualServices: [],
      destinationRules: [],
      deployments: [
        trackDeployment('stable'),
        trackDeployment('canary', { image: 'registry.local/product-service:v2' }),
      ],
      httpRoutes: [route],
      services: ['stable', 'canary'].map((track) => ({
        metadata: { name: `product-service-${track}`, namespace: NAMESPACE },
        spec: { selector: { app: 'product-service', 'stepwise.dev/track': track } },
      })),
    };
  }

  it('copies every request when the filter gives neither percent nor fraction', async () => {
    const traffic = run(
      gatewayMirrored([{ type: 'RequestMirror', requestMirror: { backendRef: { name: CANARY } } }]),
    );
    expect(sum(traffic.mirrorStats(), (c) => c.workload === CANARY)).toBe(REQUESTS);
    expect(traffic.userRequests()).toEqual({ requests: REQUESTS, failed: 0 });
    expect(
      await exported(traffic, {
        reporter: 'destination',
        destination_workload: CANARY,
        destination_service: `${CANARY}.${NAMESPACE}.svc.cluster.local`,
      }),
    ).toBe(REQUESTS);
    expect(await exported(traffic, { reporter: 'source', destination_workload: CANARY })).toBe(0);
  });

  // Gateway API: a backendRef of weight 0 gets no traffic (BackendRef.Weight), and a RequestMirror's backendRef is
  // where copies go, not a backend the rule routes to (HTTPRequestMirrorFilter.BackendRef).
  it('keeps every user request on stable while the filter to the weight-0 canary comes and goes, copying only meanwhile', () => {
    const traffic = new MeshTraffic({
      seed: 5,
      behaviour: stableFineCanaryBroken,
      headerRequests: { share: 0, headers: {} },
    });
    const plain = gatewayMirrored([]);
    // A new route object, as the router's replace of spec.rules makes the mesh read one.
    const mirrored = gatewayMirrored([
      { type: 'RequestMirror', requestMirror: { backendRef: { name: CANARY }, percent: 100 } },
    ]);
    for (const config of [plain, mirrored, structuredClone(plain)]) traffic.send(config, REQUESTS);
    expect(sum(traffic.stats(), (s) => s.workload === STABLE && s.responseCode === 200)).toBe(3 * REQUESTS);
    expect(traffic.userRequests()).toEqual({ requests: 3 * REQUESTS, failed: 0 });
    expect(sum(traffic.mirrorStats())).toBe(REQUESTS);
    expect(sum(traffic.mirrorStats(), (c) => c.workload === CANARY && c.responseCode === 500)).toBe(REQUESTS);
  });

  it('copies the share `percent` or `fraction` gives', () => {
    const percent = sum(
      run(
        gatewayMirrored([
          { type: 'RequestMirror', requestMirror: { backendRef: { name: CANARY }, percent: 50 } },
        ]),
      ).mirrorStats(),
    );
    expect(percent).toBeGreaterThan(4_800);
    expect(percent).toBeLessThan(5_200);
    const fraction = sum(
      run(
        gatewayMirrored([
          {
            type: 'RequestMirror',
            requestMirror: { backendRef: { name: CANARY }, fraction: { numerator: 1, denominator: 4 } },
          },
        ]),
      ).mirrorStats(),
    );
    expect(fraction).toBeGreaterThan(2_350);
    expect(fraction).toBeLessThan(2_650);
  });
});
