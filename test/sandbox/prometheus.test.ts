import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticConfigSource } from '../../src/sandbox/mesh/config.js';
import { startMesh, type Mesh } from '../../src/sandbox/mesh/mesh.js';
import {
  findPrometheusBinary,
  queryPrometheus,
  startPrometheus,
  waitForSeries,
  type PrometheusProcess,
} from '../../src/sandbox/prometheus.js';
import { productServiceMesh } from './mesh-fixture.js';

const RPS = 50;
// Inside the 100–250 ms bucket: a P99 right on a bucket edge makes histogram_quantile jump between buckets.
const P99_MS = 180;

describe('the simulated mesh scraped by a real Prometheus', () => {
  let mesh: Mesh;
  let prometheus: PrometheusProcess;

  beforeAll(async () => {
    mesh = await startMesh({
      source: staticConfigSource(productServiceMesh()),
      rps: RPS,
      seed: 5,
      behaviour: () => ({ errorRate: 0, latencyMs: { p50: 60, p99: P99_MS } }),
    });
    prometheus = await startPrometheus({ targets: [mesh.target], scrapeIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await prometheus?.close();
    await mesh?.close();
  });

  it('sees the configured request rate at the destination reporter', async () => {
    // rate() needs two scrapes inside the window; the first value appears a few seconds after start.
    await waitForSeries(
      prometheus.url,
      'sum(rate(istio_requests_total{reporter="destination"}[5s]))',
      20_000,
    );
    // Let the 5 s window fill with traffic before judging the rate.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const [rate] = await queryPrometheus(
      prometheus.url,
      'sum(rate(istio_requests_total{reporter="destination"}[5s]))',
    );
    expect(rate?.value).toBeGreaterThan(RPS * 0.6);
    expect(rate?.value).toBeLessThan(RPS * 1.4);
  }, 40_000);

  it('sees a P99 near the pods’ P99 through the histogram buckets', async () => {
    const query =
      'histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination"}[10s])))';
    const [p99] = await waitForSeries(prometheus.url, query, 20_000);
    expect(p99?.value).toBeGreaterThan(P99_MS * 0.5);
    expect(p99?.value).toBeLessThan(P99_MS * 1.5);
  }, 40_000);

  it('keeps its port and data across stop and start', async () => {
    const query = 'count(istio_requests_total{reporter="destination"})';
    const [before] = await waitForSeries(prometheus.url, query, 20_000);
    await prometheus.stop();
    await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
    await prometheus.start();
    const [after] = await waitForSeries(prometheus.url, query, 20_000);
    expect(after?.value).toBe(before?.value);
    // The TSDB came back from the same directory: samples from before the stop are still there.
    const [history] = await waitForSeries(
      prometheus.url,
      'count_over_time(istio_requests_total[5m])',
      10_000,
    );
    expect(history?.value).toBeGreaterThan(5);
  }, 60_000);
});

describe('locating the Prometheus binary', () => {
  it('says how to install Prometheus when it is missing', () => {
    expect(() => findPrometheusBinary('/nonexistent/prometheus', '/nonexistent-dir')).toThrow(
      /apt-get install -y prometheus/,
    );
  });

  it('falls back to PATH', () => {
    expect(findPrometheusBinary('/nonexistent/prometheus', '/usr/bin')).toBe('/usr/bin/prometheus');
  });
});
