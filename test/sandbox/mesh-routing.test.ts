import { describe, expect, it } from 'vitest';
import { behaviourFromImageTag } from '../../sandbox/mesh/behaviour.js';
import { staticConfigSource, type MeshConfig } from '../../sandbox/mesh/config.js';
import { logNormalLatency } from '../../sandbox/mesh/latency.js';
import { compileMatch, type SimulatedRequest } from '../../sandbox/mesh/matching.js';
import { seededRandom } from '../../sandbox/mesh/random.js';
import { MeshTraffic, type RequestStat } from '../../sandbox/mesh/traffic.js';
import { productServiceMesh, setWeights, trackDeployment } from './mesh-fixture.js';

const sum = (stats: RequestStat[], where: (stat: RequestStat) => boolean) =>
  stats.filter(where).reduce((total, stat) => total + stat.requests, 0);

function run(config: MeshConfig, requests = 20_000, seed = 7) {
  const traffic = new MeshTraffic({ seed });
  traffic.send(config, requests);
  return traffic;
}

describe('routing through the VirtualService', () => {
  it('sends every x-canary request to the canary by the header route, and no other request by it', () => {
    const stats = run(productServiceMesh()).stats();
    const tagged = stats.filter((stat) => stat.withHeaders);
    expect(sum(tagged, () => true)).toBeGreaterThan(1_500);
    expect(tagged.every((stat) => stat.routeIndex === 0 && stat.workload === 'product-service-canary')).toBe(
      true,
    );
    expect(sum(stats, (stat) => !stat.withHeaders && stat.routeIndex === 0)).toBe(0);
  });

  it('splits the weighted route 90/10 between stable and canary', () => {
    const stats = run(productServiceMesh())
      .stats()
      .filter((stat) => stat.routeIndex === 1);
    const total = sum(stats, () => true);
    const canary = sum(stats, (stat) => stat.workload === 'product-service-canary');
    expect(sum(stats, (stat) => stat.subset === 'canary')).toBe(canary);
    // ~18,000 requests: the share's standard deviation is ~0.2 points.
    expect(canary / total).toBeGreaterThan(0.09);
    expect(canary / total).toBeLessThan(0.11);
  });

  it('sends nothing to a destination of weight 0', () => {
    const config = productServiceMesh();
    setWeights(config, 100, 0);
    const stats = run(config).stats();
    expect(sum(stats, (stat) => stat.routeIndex === 1 && stat.workload === 'product-service-canary')).toBe(0);
    expect(
      sum(stats, (stat) => stat.routeIndex === 1 && stat.workload === 'product-service-stable'),
    ).toBeGreaterThan(0);
  });

  it('answers 503 UH with workload unknown when the chosen subset has no ready Deployment', () => {
    const stats = run(productServiceMesh({}, { readyReplicas: 0 })).stats();
    const toCanary = stats.filter((stat) => stat.subset === 'canary');
    expect(sum(toCanary, () => true)).toBeGreaterThan(0);
    expect(
      toCanary.every(
        (stat) => stat.responseCode === 503 && stat.responseFlags === 'UH' && stat.workload === 'unknown',
      ),
    ).toBe(true);
    expect(sum(stats, (stat) => stat.subset === 'stable' && stat.responseFlags === 'UH')).toBe(0);
  });

  it('answers 503 NC when the route names a subset no DestinationRule defines', () => {
    const config = productServiceMesh();
    const subsets = config.destinationRules[0]?.spec?.subsets;
    subsets?.splice(
      subsets.findIndex((subset) => subset.name === 'canary'),
      1,
    );
    const stats = run(config).stats();
    expect(sum(stats, (stat) => stat.subset === 'canary' && stat.responseFlags !== 'NC')).toBe(0);
    expect(sum(stats, (stat) => stat.subset === 'canary' && stat.responseCode === 503)).toBeGreaterThan(0);
  });

  it('serves a subset only from Deployments of the service app that carry the subset labels and are ready', () => {
    const config = productServiceMesh();
    config.deployments.push(trackDeployment('canary', { app: 'other-service' }), {
      ...trackDeployment('stable'),
      metadata: { name: 'product-service-old', namespace: 'production' },
      status: {},
    });
    const workloads = new Set(
      run(config)
        .stats()
        .map((stat) => stat.workload),
    );
    expect(workloads).toEqual(new Set(['product-service-stable', 'product-service-canary']));
  });

  it('spreads a subset over its ready Deployments in proportion to their ready replicas', () => {
    const config = productServiceMesh({ readyReplicas: 3 });
    const second = trackDeployment('stable', { readyReplicas: 1 });
    second.metadata.name = 'product-service-stable-b';
    config.deployments.push(second);
    const stats = run(config)
      .stats()
      .filter((stat) => stat.subset === 'stable');
    const share = sum(stats, (stat) => stat.workload === 'product-service-stable-b') / sum(stats, () => true);
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
  });

  it('gives the canary the error share of its image and leaves the stable healthy', () => {
    const stats = run(
      productServiceMesh({}, { image: 'registry.local/product-service:v2-bad-errors' }),
      40_000,
    ).stats();
    const errorShare = (workload: string) =>
      sum(stats, (stat) => stat.workload === workload && stat.responseCode === 500) /
      sum(stats, (stat) => stat.workload === workload);
    expect(errorShare('product-service-canary')).toBeGreaterThan(0.04);
    expect(errorShare('product-service-canary')).toBeLessThan(0.06);
    expect(errorShare('product-service-stable')).toBeLessThan(0.005);
  });

  it('replays the same traffic for the same seed and different traffic for another', () => {
    const counts = (seed: number) =>
      JSON.stringify(
        run(productServiceMesh(), 2_000, seed)
          .stats()
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      );
    expect(counts(3)).toBe(counts(3));
    expect(counts(3)).not.toBe(counts(4));
  });

  it('draws a Poisson number of requests around rps × elapsed time', () => {
    const traffic = new MeshTraffic({ rps: 200, seed: 11 });
    const config = productServiceMesh();
    for (let tick = 0; tick < 100; tick++) traffic.advance(config, 100);
    // 10 s at 200 rps = 2,000 requests, standard deviation ~45.
    expect(sum(traffic.stats(), () => true)).toBeGreaterThan(1_850);
    expect(sum(traffic.stats(), () => true)).toBeLessThan(2_150);
  });
});

describe('weight history', () => {
  it('records each new set of weights per route once, with the time it was first routed by', async () => {
    const source = staticConfigSource(productServiceMesh());
    const traffic = new MeshTraffic({ seed: 1 });
    traffic.send(await source.snapshot(), 10, new Date('2026-01-01T00:00:00Z'));
    traffic.send(await source.snapshot(), 10, new Date('2026-01-01T00:00:01Z'));
    source.update((config) => setWeights(config, 75, 25));
    traffic.send(await source.snapshot(), 10, new Date('2026-01-01T00:00:02Z'));

    const weighted = traffic.weightHistory().filter((record) => record.routeIndex === 1);
    expect(
      weighted.map((record) => record.weights.map((weight) => `${weight.subset}=${weight.weight}`)),
    ).toEqual([
      ['stable=90', 'canary=10'],
      ['stable=75', 'canary=25'],
    ]);
    expect(weighted.map((record) => record.firstSeenAt.toISOString())).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:02.000Z',
    ]);
    const headerRoute = traffic.weightHistory().filter((record) => record.routeIndex === 0);
    expect(headerRoute).toHaveLength(1);
    expect(headerRoute[0]?.weights).toEqual([
      { host: 'product-service.production.svc.cluster.local', subset: 'canary', weight: 100 },
    ]);
    expect(headerRoute[0]?.virtualService).toBe('production/product-service');
  });
});

describe('match conditions', () => {
  const request = (uri: string, headers: Record<string, string> = {}): SimulatedRequest => ({
    method: 'GET',
    uri,
    headers,
    sourceLabels: { app: 'loadgenerator' },
    sourceNamespace: 'production',
  });

  it('matches headers by exact, prefix and regex, and uri by exact and prefix', () => {
    expect(
      compileMatch([{ headers: { 'x-user': { prefix: 'qa-' } } }])(request('/', { 'x-user': 'qa-7' })),
    ).toBe(true);
    expect(
      compileMatch([{ headers: { 'x-user': { prefix: 'qa-' } } }])(request('/', { 'x-user': 'dev' })),
    ).toBe(false);
    expect(
      compileMatch([{ headers: { 'X-Beta': { regex: 'on|yes' } } }])(request('/', { 'x-beta': 'yes' })),
    ).toBe(true);
    // RE2 semantics: the regex must match the whole value.
    expect(
      compileMatch([{ headers: { 'x-beta': { regex: 'on|yes' } } }])(request('/', { 'x-beta': 'yes!' })),
    ).toBe(false);
    expect(compileMatch([{ uri: { exact: '/api' } }])(request('/api'))).toBe(true);
    expect(compileMatch([{ uri: { exact: '/api' } }])(request('/api/v1'))).toBe(false);
    expect(compileMatch([{ uri: { prefix: '/api' } }])(request('/api/v1'))).toBe(true);
    expect(compileMatch([{ uri: { prefix: '/API' }, ignoreUriCase: true }])(request('/api/v1'))).toBe(true);
  });

  it('needs every condition of one entry and any one entry of the list', () => {
    const both = compileMatch([{ uri: { prefix: '/api' }, headers: { 'x-canary': { exact: 'true' } } }]);
    expect(both(request('/api', { 'x-canary': 'true' }))).toBe(true);
    expect(both(request('/web', { 'x-canary': 'true' }))).toBe(false);
    const either = compileMatch([
      { uri: { prefix: '/web' } },
      { headers: { 'x-canary': { exact: 'true' } } },
    ]);
    expect(either(request('/api', { 'x-canary': 'true' }))).toBe(true);
    expect(either(request('/api'))).toBe(false);
    expect(compileMatch(undefined)(request('/anything'))).toBe(true);
  });

  it('excludes requests that carry withoutHeaders', () => {
    const match = compileMatch([{ withoutHeaders: { 'x-canary': { exact: 'true' } } }]);
    expect(match(request('/', { 'x-canary': 'true' }))).toBe(false);
    expect(match(request('/'))).toBe(true);
  });
});

describe('pod behaviour', () => {
  it('reads the failure mode from the image tag', () => {
    const healthy = behaviourFromImageTag('registry.local:5000/shop/api:v2');
    expect(healthy.errorRate).toBeLessThan(0.01);
    expect(behaviourFromImageTag('shop/api:v3-bad-errors').errorRate).toBe(0.05);
    expect(behaviourFromImageTag('shop/api:v3-slow').latencyMs.p99).toBe(healthy.latencyMs.p99 * 3);
    // A registry port or a repository name is not the tag.
    expect(behaviourFromImageTag('slow-registry:5000/bad-errors/api:v2')).toEqual(healthy);
  });

  it('draws latencies whose median and 99th percentile match the behaviour', () => {
    const sample = logNormalLatency({ p50: 40, p99: 300 }, seededRandom(5));
    const values = Array.from({ length: 50_000 }, sample).sort((a, b) => a - b);
    const quantile = (q: number) => values[Math.floor(q * values.length)] ?? NaN;
    expect(quantile(0.5)).toBeGreaterThan(38);
    expect(quantile(0.5)).toBeLessThan(42);
    expect(quantile(0.99)).toBeGreaterThan(270);
    expect(quantile(0.99)).toBeLessThan(330);
  });
});
