import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leSpellings, openMetricsFloat } from '../../src/analysis/bucket-label.js';
import { staticConfigSource } from '../../sandbox/mesh/config.js';
import { startMesh, type Mesh } from '../../sandbox/mesh/mesh.js';
import { ISTIO_DURATION_BUCKETS_MS } from '../../sandbox/mesh/metrics.js';
import {
  findPrometheusBinary,
  queryPrometheus,
  startPrometheus,
  waitForSeries,
  type PrometheusProcess,
} from '../../sandbox/prometheus.js';
import { toolVersion } from '../../sandbox/tools.js';
import { describeOnEachPrometheus } from '../support/prometheus.js';
import { productServiceMesh } from './mesh-fixture.js';

const RPS = 50;
// Inside the 100–250 ms bucket: a P99 right on a bucket edge makes histogram_quantile jump between buckets.
const P99_MS = 180;

describeOnEachPrometheus('the simulated mesh scraped by a real Prometheus', (build) => {
  let mesh: Mesh;
  let prometheus: PrometheusProcess;

  beforeAll(async () => {
    mesh = await startMesh({
      source: staticConfigSource(productServiceMesh()),
      rps: RPS,
      seed: 5,
      behaviour: () => ({ errorRate: 0, latencyMs: { p50: 60, p99: P99_MS } }),
    });
    prometheus = await startPrometheus({
      targets: [mesh.target],
      scrapeIntervalSeconds: 1,
      binary: build.binary,
    });
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

  it(`stores the mesh's bucket edges as ${build.name} does, in a spelling the analysis selects`, async () => {
    await waitForSeries(prometheus.url, 'count(istio_request_duration_milliseconds_bucket)', 20_000);
    const response = await fetch(`${prometheus.url}/api/v1/label/le/values`);
    const stored = ((await response.json()) as { data: string[] }).data;
    // The mesh exports Envoy's "500"; 2.x keeps it, 3.x rewrites it as an OpenMetrics float ("500.0", "3.6e+06").
    const spelled = (edge: number) => (build.major >= 3 ? openMetricsFloat(edge) : String(edge));
    expect(stored.sort()).toEqual([...ISTIO_DURATION_BUCKETS_MS.map(spelled), '+Inf'].sort());
    for (const edge of ISTIO_DURATION_BUCKETS_MS) expect(leSpellings(edge)).toContain(spelled(edge));
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
  let dir: string;
  const executable = (path: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '#!/bin/sh\necho "prometheus, version 9.9.9"\n');
    chmodSync(path, 0o755);
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stepwise-find-prometheus-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says how to build or install Prometheus when there is none', () => {
    const env = { STEPWISE_TOOLS_CACHE: join(dir, 'empty-cache') };
    expect(() => findPrometheusBinary({ env, searchPath: '/nonexistent-dir' })).toThrow(
      /tools\/build\.sh prometheus.*apt-get install -y prometheus/,
    );
  });

  it('takes the Prometheus 3 built into the tools cache before the one on PATH', () => {
    const cache = join(dir, 'cache');
    const built = executable(join(cache, `prometheus-${toolVersion('prometheus')}`, 'prometheus'));
    const onPath = executable(join(dir, 'bin', 'prometheus'));
    const env = { STEPWISE_TOOLS_CACHE: cache };
    // Not complete yet (no .complete marker): a half-finished build is not used.
    expect(findPrometheusBinary({ env, searchPath: join(dir, 'bin') })).toBe(onPath);
    writeFileSync(join(cache, `prometheus-${toolVersion('prometheus')}`, '.complete'), '');
    expect(findPrometheusBinary({ env, searchPath: join(dir, 'bin') })).toBe(built);
  });

  it('takes --prometheus-bin, then STEPWISE_PROMETHEUS_BIN, over any other', () => {
    const chosen = executable(join(dir, 'chosen', 'prometheus'));
    const fromEnv = executable(join(dir, 'env', 'prometheus'));
    const env = { STEPWISE_PROMETHEUS_BIN: fromEnv, STEPWISE_TOOLS_CACHE: join(dir, 'cache') };
    expect(findPrometheusBinary({ env, explicit: chosen })).toBe(chosen);
    expect(findPrometheusBinary({ env })).toBe(fromEnv);
  });

  it('names the flag and the path when the chosen binary is not executable', () => {
    expect(() => findPrometheusBinary({ explicit: join(dir, 'missing') })).toThrow(
      `--prometheus-bin: ${join(dir, 'missing')} is not an executable file`,
    );
    expect(() => findPrometheusBinary({ env: { STEPWISE_PROMETHEUS_BIN: dir } })).toThrow(
      `STEPWISE_PROMETHEUS_BIN: ${dir} is not an executable file`,
    );
  });
});
