import { describe, expect, it } from 'vitest';
import type { MeshConfig } from '../../sandbox/mesh/config.js';
import { orderedGrpcMatches, type GatewayGrpcRoute } from '../../sandbox/mesh/grpcroute.js';
import { orderedMatches, type GatewayHttpRoute } from '../../sandbox/mesh/httproute.js';
import type { SimulatedRequest } from '../../sandbox/mesh/matching.js';
import { MeshTraffic, type RequestStat } from '../../sandbox/mesh/traffic.js';
import { exampleMesh } from './mesh-fixture.js';

const NAMESPACE = 'production';
const sum = (stats: RequestStat[], where: (stat: RequestStat) => boolean) =>
  stats.filter(where).reduce((total, stat) => total + stat.requests, 0);

function run(config: MeshConfig, requests = 20_000, uri = '/') {
  const traffic = new MeshTraffic({ seed: 7, uri });
  traffic.send(config, requests);
  return traffic.stats();
}

/** x-canary requests all reach the canary by rule 0 (qa); the others split 80/20 by rule 1 (primary). */
function expectQaThenPrimary(stats: RequestStat[]): void {
  const tagged = stats.filter((s) => s.withHeaders);
  expect(sum(tagged, () => true)).toBeGreaterThan(1_500);
  expect(tagged.every((s) => s.routeIndex === 0 && s.workload === 'product-service-canary')).toBe(true);
  const plain = stats.filter((s) => !s.withHeaders);
  expect(plain.every((s) => s.routeIndex === 1)).toBe(true);
  const share = sum(plain, (s) => s.workload === 'product-service-canary') / sum(plain, () => true);
  // ~18,000 requests: the share's standard deviation is ~0.3 points.
  expect(share).toBeGreaterThan(0.18);
  expect(share).toBeLessThan(0.22);
}

const request = (uri: string, headers: Record<string, string> = {}): SimulatedRequest => ({
  method: 'GET',
  uri,
  headers,
  sourceLabels: {},
  sourceNamespace: NAMESPACE,
});

describe('the sandbox mesh routes by HTTPRoute as the Gateway API spec says', () => {
  it('sends every x-canary request to the canary by the qa rule, and the others 80/20 by the primary rule', () => {
    const config = exampleMesh('product-service-httproute');
    const refs = config.httpRoutes![0]!.spec!.rules![1]!.backendRefs!;
    refs[0]!.weight = 80;
    refs[1]!.weight = 20;
    expectQaThenPrimary(run(config));
  });

  it('sends nothing to a backendRef of weight 0, and splits unset weights evenly (each counts 1)', () => {
    const config = exampleMesh('product-service-httproute');
    const plainCanary = (c: MeshConfig) =>
      sum(
        run(c).filter((s) => !s.withHeaders),
        (s) => s.workload === 'product-service-canary',
      );
    expect(plainCanary(config)).toBe(0);
    for (const ref of config.httpRoutes![0]!.spec!.rules![1]!.backendRefs!) delete ref.weight;
    const stats = run(config).filter((s) => !s.withHeaders);
    const share = sum(stats, (s) => s.workload === 'product-service-canary') / sum(stats, () => true);
    expect(share).toBeGreaterThan(0.47);
    expect(share).toBeLessThan(0.53);
  });

  it('grants precedence to an Exact path over a prefix, and then to more header matches, before list order', () => {
    const route: GatewayHttpRoute = {
      spec: {
        rules: [
          { name: 'all', matches: [{ path: { type: 'PathPrefix', value: '/' } }] },
          { name: 'api', matches: [{ path: { type: 'PathPrefix', value: '/api' } }] },
          { name: 'health', matches: [{ path: { type: 'Exact', value: '/api/health' } }] },
          { name: 'qa', matches: [{ headers: [{ name: 'x-qa', value: '1' }] }] },
        ],
      },
    };
    const ordered = orderedMatches(route);
    const first = (r: SimulatedRequest) => route.spec!.rules![ordered.find((m) => m.matches(r))!.rule]!.name;
    expect(first(request('/api/health'))).toBe('health');
    expect(first(request('/api/orders'))).toBe('api');
    expect(first(request('/apiary'))).toBe('all');
    expect(first(request('/', { 'x-qa': '1' }))).toBe('qa');
    expect(first(request('/api/orders', { 'x-qa': '1' }))).toBe('api');
  });

  it('routes an Istio host split to the pods each Service selects', () => {
    const config = exampleMesh('product-service-host-split');
    const route = config.virtualServices[0]!.spec!.http![1]!.route!;
    route[0]!.weight = 50;
    route[1]!.weight = 50;
    const stats = run(config).filter((s) => !s.withHeaders);
    const share = sum(stats, (s) => s.workload === 'product-service-canary') / sum(stats, () => true);
    expect(share).toBeGreaterThan(0.47);
    expect(share).toBeLessThan(0.53);
    expect(stats.every((s) => s.responseCode !== 503)).toBe(true);
  });
});

describe('the sandbox mesh routes by GRPCRoute as the Gateway API spec says', () => {
  const call = (service: string, method: string, headers: Record<string, string> = {}) =>
    request(`/${service}/${method}`, headers);

  it('sends x-canary calls to the canary by the qa rule, the export to stable, and the others 80/20 by primary', () => {
    const config = exampleMesh('product-service-grpcroute');
    const refs = config.grpcRoutes![0]!.spec!.rules![1]!.backendRefs!;
    refs[0]!.weight = 80;
    refs[1]!.weight = 20;
    expectQaThenPrimary(run(config, 20_000, '/product.v1.Catalog/Get'));
    // The export matches its service and method, which take precedence over a header match: stable, tagged or not.
    const exports = run(config, 2_000, '/product.v1.Catalog/Export');
    expect(exports.every((s) => s.routeIndex === 2 && s.workload === 'product-service-stable')).toBe(true);
  });

  it('grants precedence to the longer service, then the longer method, then more headers, before list order', () => {
    const route: GatewayGrpcRoute = {
      spec: {
        rules: [
          { name: 'any' },
          { name: 'method', matches: [{ method: { method: 'Get' } }] },
          { name: 'service', matches: [{ method: { service: 'shop.Catalog' } }] },
          { name: 'both', matches: [{ method: { service: 'shop.Catalog', method: 'Get' } }] },
          { name: 'qa', matches: [{ headers: [{ name: 'x-qa', value: '1' }] }] },
          {
            name: 'regex',
            matches: [{ method: { type: 'RegularExpression', service: 'shop\\..*', method: 'List.*' } }],
          },
        ],
      },
    };
    const ordered = orderedGrpcMatches(route);
    const first = (r: SimulatedRequest) => route.spec!.rules![ordered.find((m) => m.matches(r))!.rule]!.name;
    expect(first(call('shop.Catalog', 'Get'))).toBe('both');
    expect(first(call('shop.Catalog', 'Put'))).toBe('service');
    expect(first(call('shop.Orders', 'Get'))).toBe('method');
    expect(first(call('shop.Orders', 'ListAll'))).toBe('regex');
    expect(first(call('other.Svc', 'Get', { 'x-qa': '1' }))).toBe('method');
    expect(first(call('other.Svc', 'Put', { 'x-qa': '1' }))).toBe('qa');
    // Exact is case-sensitive; a rule without matches takes every call.
    expect(first(call('shop.catalog', 'get'))).toBe('any');
  });
});
