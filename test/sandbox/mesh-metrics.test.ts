import { afterEach, describe, expect, it } from 'vitest';
import { staticConfigSource } from '../../sandbox/mesh/config.js';
import { startMesh, type Mesh } from '../../sandbox/mesh/mesh.js';
import { productServiceMesh } from './mesh-fixture.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough for prom-client's output). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const parsed = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!parsed?.[1] || !parsed[3]) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (parsed[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) labels[pair[1]] = pair[2];
    }
    samples.push({ name: parsed[1], labels, value: Number(parsed[3]) });
  }
  return samples;
}

const fetchSamples = async (mesh: Mesh) => parseExposition(await (await fetch(mesh.metricsUrl)).text());
const total = (samples: Sample[], name: string, where: Partial<Record<string, string>>) =>
  samples
    .filter(
      (sample) => sample.name === name && Object.entries(where).every(([k, v]) => sample.labels[k] === v),
    )
    .reduce((sum, sample) => sum + sample.value, 0);

describe('mesh metrics', () => {
  let mesh: Mesh | undefined;
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
  });

  it('exports both reporters with Istio standard labels for requests that reached a pod', async () => {
    mesh = await startMesh({ source: staticConfigSource(productServiceMesh()), rps: 0, seed: 3 });
    await mesh.send(2_000);
    const samples = await fetchSamples(mesh);

    const canary = samples.find(
      (sample) =>
        sample.name === 'istio_requests_total' &&
        sample.labels.reporter === 'destination' &&
        sample.labels.destination_workload === 'product-service-canary' &&
        sample.labels.response_code === '200',
    );
    expect(canary?.labels).toEqual({
      reporter: 'destination',
      source_workload: 'loadgenerator',
      source_workload_namespace: 'production',
      source_app: 'loadgenerator',
      source_version: 'unknown',
      source_canonical_service: 'loadgenerator',
      source_canonical_revision: 'latest',
      destination_workload: 'product-service-canary',
      destination_workload_namespace: 'production',
      destination_app: 'product-service',
      destination_version: 'v2',
      destination_service: 'product-service.production.svc.cluster.local',
      destination_service_name: 'product-service',
      destination_service_namespace: 'production',
      destination_canonical_service: 'product-service',
      destination_canonical_revision: 'v2',
      request_protocol: 'http',
      response_code: '200',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
    });

    const requests = (reporter: string) => total(samples, 'istio_requests_total', { reporter });
    expect(requests('destination')).toBe(2_000);
    expect(requests('source')).toBe(2_000);
    expect(
      samples
        .filter((sample) => sample.labels.reporter === 'source')
        .every((sample) => sample.labels.connection_security_policy === 'unknown'),
    ).toBe(true);
    // The mesh's own stats agree with what Prometheus will scrape.
    const served = mesh
      .stats()
      .filter((stat) => stat.workload === 'product-service-canary')
      .reduce((sum, stat) => sum + stat.requests, 0);
    expect(
      total(samples, 'istio_requests_total', {
        reporter: 'destination',
        destination_workload: 'product-service-canary',
      }),
    ).toBe(served);
  });

  it('exposes the duration histogram with Envoy default buckets, sum and count', async () => {
    mesh = await startMesh({ source: staticConfigSource(productServiceMesh()), rps: 0 });
    await mesh.send(500);
    const text = await (await fetch(mesh.metricsUrl)).text();
    expect(text).toContain('# TYPE istio_request_duration_milliseconds histogram');
    const samples = parseExposition(text);
    const stable = {
      reporter: 'destination',
      destination_workload: 'product-service-stable',
      response_code: '200',
    };
    const buckets = samples.filter(
      (sample) =>
        sample.name === 'istio_request_duration_milliseconds_bucket' &&
        Object.entries(stable).every(([key, value]) => sample.labels[key] === value),
    );
    expect(buckets.map((sample) => sample.labels.le)).toEqual([
      '0.5',
      '1',
      '5',
      '10',
      '25',
      '50',
      '100',
      '250',
      '500',
      '1000',
      '2500',
      '5000',
      '10000',
      '30000',
      '60000',
      '300000',
      '600000',
      '1800000',
      '3600000',
      '+Inf',
    ]);
    const count = total(samples, 'istio_request_duration_milliseconds_count', stable);
    expect(buckets.at(-1)?.value).toBe(count);
    expect(count).toBe(total(samples, 'istio_requests_total', stable));
    // Healthy pods: median 50 ms, so the mean lies between 25 ms and 250 ms.
    const mean = total(samples, 'istio_request_duration_milliseconds_sum', stable) / count;
    expect(mean).toBeGreaterThan(25);
    expect(mean).toBeLessThan(250);
  });

  it('reports a request without a healthy upstream only from the source, as 503 UH to workload unknown', async () => {
    mesh = await startMesh({
      source: staticConfigSource(productServiceMesh({}, { readyReplicas: 0 })),
      rps: 0,
    });
    await mesh.send(1_000);
    const samples = (await fetchSamples(mesh)).filter((sample) => sample.name === 'istio_requests_total');
    const noUpstream = samples.filter((sample) => sample.labels.response_flags === 'UH');
    expect(noUpstream.length).toBeGreaterThan(0);
    for (const sample of noUpstream) {
      // As Istio's client sidecar labels it with no peer: the service from the cluster's metadata, no workload
      // (populatePeerInfo in istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc).
      expect(sample.labels).toMatchObject({
        reporter: 'source',
        response_code: '503',
        destination_workload: 'unknown',
        destination_service: 'product-service.production.svc.cluster.local',
        destination_service_name: 'product-service',
        destination_service_namespace: 'production',
      });
    }
    expect(samples.some((s) => s.labels.reporter === 'destination' && s.labels.response_code === '503')).toBe(
      false,
    );
  });

  it('sends traffic on its own, tick by tick, and follows config changes', async () => {
    const source = staticConfigSource(productServiceMesh());
    mesh = await startMesh({ source, rps: 200, tickMs: 20 });
    const served = (workload: string) =>
      mesh!
        .stats()
        .filter((stat) => stat.workload === workload)
        .reduce((sum, stat) => sum + stat.requests, 0);
    await expect.poll(() => served('product-service-stable'), { timeout: 10_000 }).toBeGreaterThan(20);

    source.update((config) => {
      const stable = config.deployments.find(
        (deployment) => deployment.metadata?.name === 'product-service-stable',
      );
      if (stable?.status) stable.status.readyReplicas = 0;
    });
    await expect
      .poll(() => mesh!.stats().filter((stat) => stat.responseFlags === 'UH').length, { timeout: 10_000 })
      .toBeGreaterThan(0);
  });

  it('answers 404 outside /metrics', async () => {
    mesh = await startMesh({ source: staticConfigSource(productServiceMesh()), rps: 0 });
    expect((await fetch(`${mesh.url}/other`)).status).toBe(404);
    expect(mesh.target).toBe(mesh.url.replace('http://', ''));
  });
});
