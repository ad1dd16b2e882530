import { describe, expect, it } from 'vitest';
import { bucketAt } from '../../src/analysis/promql.js';
import { metricsProviderOf } from '../../src/analysis/providers/index.js';
import type { Selector } from '../../src/analysis/providers/provider.js';
import { MESH_METRICS, meshMetricsOf, type MeshMetricsKind } from '../../sandbox/mesh/mesh-metrics.js';
import { MeshTraffic } from '../../sandbox/mesh/traffic.js';
import { exampleMesh, NAMESPACE } from './mesh-fixture.js';

// The sandbox mesh exports each mesh's families with that mesh's labels: what the analysis's own selectors for the
// mesh (src/analysis/providers/) find in the exposition is the traffic the mesh sent, and nothing of another mesh.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(exposition: string): Sample[] {
  return exposition.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    return [{ name: match[1]!, labels, value: Number(match[3]) }];
  });
}

/** The sum of the samples a selector such as `m{a="b", c=~"5.."}` selects, as Prometheus would match them. */
function total(all: Sample[], selector: Selector): number {
  const name = selector.slice(0, selector.indexOf('{'));
  const matchers = [...selector.matchAll(/(\w+)(=~|=)"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => {
    const unescaped = value!.replace(/\\\\/g, '\\');
    return (sample: Sample) =>
      op === '='
        ? sample.labels[label!] === unescaped
        : new RegExp(`^(?:${unescaped})$`).test(sample.labels[label!] ?? '');
  });
  return all
    .filter((s) => s.name === name && matchers.every((m) => m(s)))
    .reduce((sum, s) => sum + s.value, 0);
}

const EXAMPLES: Record<MeshMetricsKind, string> = {
  istio: 'product-service-httproute',
  'istio-ambient': 'product-service-ambient',
  linkerd: 'product-service-linkerd',
  cilium: 'product-service-cilium',
};

describe.each(MESH_METRICS)('the sandbox mesh exporting %s metrics', (kind) => {
  const config = exampleMesh(EXAMPLES[kind], 'registry.local/product-service:v2-bad-errors');
  const refs = config.httpRoutes![0]!.spec!.rules![1]!.backendRefs!;
  refs[0]!.weight = 50;
  refs[1]!.weight = 50;
  const traffic = new MeshTraffic({ seed: 7, metrics: kind, headerRequests: { share: 0, headers: {} } });
  traffic.send(config, 20_000);
  const canaryServed = traffic
    .stats()
    .filter((s) => s.workload === 'product-service-canary')
    .reduce((sum, s) => sum + s.requests, 0);
  const provider = metricsProviderOf({ metricsProvider: kind });

  it('counts the canary’s requests and 5% failures where the analysis looks for them', async () => {
    const all = samples(await traffic.metrics.exposition());
    const requests = total(all, provider.served.requests(NAMESPACE, 'product-service-canary'));
    expect(requests).toBe(canaryServed);
    // The sandbox's requests are HTTP: Istio's gRPC-status selector matches none of them, so no series twice.
    const failures = provider.served
      .errors(NAMESPACE, 'product-service-canary')
      .reduce((sum, selector) => sum + total(all, selector), 0);
    expect(failures / requests).toBeGreaterThan(0.04);
    expect(failures / requests).toBeLessThan(0.06);
    if (provider.callers) {
      expect(total(all, provider.callers.requests(NAMESPACE, 'product-service-canary'))).toBe(canaryServed);
    }
  });

  it('exports the latency histogram in the mesh’s unit, at its bucket edges', async () => {
    const all = samples(await traffic.metrics.exposition());
    const duration = provider.duration!;
    const buckets = duration.buckets(NAMESPACE, 'product-service-canary');
    const at = (edgeMs: number) =>
      total(all, `${buckets.slice(0, -1)}, ${bucketAt(duration, edgeMs).replace(/\\\\/g, '\\')}}`);
    expect(at(Infinity)).toBe(canaryServed);
    // Healthy pods answer with a 50 ms median and a 200 ms P99 (behaviour.ts).
    const within500 = at(500) / at(Infinity);
    expect(within500).toBeGreaterThan(0.98);
    expect(at(50) / at(Infinity)).toBeGreaterThan(0.3);
    expect(at(50) / at(Infinity)).toBeLessThan(0.7);
  });
});

it('ambient reports only from the waypoint, and no mesh exports another mesh’s families', async () => {
  const names = async (kind: MeshMetricsKind) => {
    const traffic = new MeshTraffic({ seed: 1, metrics: kind });
    traffic.send(exampleMesh(EXAMPLES[kind]), 200);
    return samples(await traffic.metrics.exposition());
  };
  const ambient = await names('istio-ambient');
  expect(new Set(ambient.map((s) => s.labels.reporter))).toEqual(new Set(['waypoint']));
  expect(new Set((await names('linkerd')).map((s) => s.name.replace(/_bucket|_sum|_count$/, '')))).toEqual(
    new Set(['response_total', 'response_latency_ms']),
  );
  expect(new Set((await names('cilium')).map((s) => s.name.replace(/_bucket|_sum|_count$/, '')))).toEqual(
    new Set(['hubble_http_requests_total', 'hubble_http_request_duration_seconds']),
  );
});

it('exports what the applied Rollout reads, Istio’s without one, and names the field for one it cannot export', () => {
  const rollout = (metricsProvider?: string) => ({
    kind: 'Rollout',
    spec: { analysis: metricsProvider ? { metricsProvider } : {} },
  });
  expect(meshMetricsOf([{ kind: 'Service' }, rollout('linkerd')])).toBe('linkerd');
  expect(meshMetricsOf([rollout()])).toBe('istio');
  expect(() => meshMetricsOf([rollout('custom')])).toThrow(
    /^the sandbox mesh exports istio, istio-ambient, linkerd, cilium metrics, not "custom"; set the Rollout's analysis\.metricsProvider/,
  );
});
