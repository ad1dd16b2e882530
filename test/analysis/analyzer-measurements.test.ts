import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import type { CheckRequest } from '../../src/analysis/types.js';
import { ANALYSIS_DEFAULTS } from '../../src/api/schema.js';

// The analyzer is where numbers from Prometheus come in. A tiny stand-in for /api/v1/query answers each query the
// analyzer sends with a value from `world`, picked by what the query asks for, so values no real counter or ratio
// can take can be served on purpose.

interface World {
  requests: number;
  errorRate: number;
  p99Ms: number;
  slowShare: number;
  /** The callers' view (reporter="source"); undefined: no caller is in the mesh. */
  callers?: { requests: number; errorRate: number };
  /** Cumulative counters per workload for the comparison's per-pod queries. */
  counters: Record<string, { requests: number; errors: number; slow: number }>;
}

let world: World;
let server: Server;
let address: string;

function answer(query: string): { labels: Record<string, string>; value: number }[] {
  if (query.startsWith('sum by (pod, instance')) {
    // One workload (`destination_workload="a"`), or several read in one query and grouped by it (`=~"a|b"`).
    const [, regex, names = ''] = /destination_workload(=~?)"([^"]+)"/.exec(query) ?? [];
    const counter = query.includes('_bucket')
      ? 'slow'
      : query.includes('response_code')
        ? 'errors'
        : 'requests';
    return names.split(regex === '=~' ? '|' : /$^/).flatMap((workload) => {
      const counters = world.counters[workload];
      if (!counters) return [];
      const labels = { pod: `${workload}-0`, ...(regex === '=~' && { destination_workload: workload }) };
      return [{ labels, value: counters[counter] }];
    });
  }
  // A threshold read of the canary alone, or batched and grouped by the workload (`=~"web-canary"`).
  const batched = /destination_workload=~"([^"]+)"/.exec(query)?.[1];
  const labels: Record<string, string> = batched === undefined ? {} : { destination_workload: batched };
  const one = (value: number) => [{ labels, value }];
  const ratio = query.includes(' / sum by (');
  if (query.includes('reporter="source"')) {
    if (!world.callers) return [];
    return one(ratio ? world.callers.errorRate : world.callers.requests);
  }
  if (query.includes('[1h]')) return one(180);
  if (query.startsWith('histogram_quantile')) return one(world.p99Ms);
  if (query.startsWith('1 - ')) return one(world.slowShare);
  if (ratio) return one(world.errorRate);
  return one(world.requests);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('query') ?? '';
    const result = answer(query).map(({ labels, value }) => ({
      metric: labels,
      value: [1767225600, String(value)],
    }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const healthyCounters = (scale: number) => ({
  'web-canary': { requests: 1000 * scale, errors: 0, slow: 5 * scale },
  'web-stable': { requests: 9000 * scale, errors: 9 * scale, slow: 90 * scale },
});

beforeEach(() => {
  world = { requests: 1000, errorRate: 0.001, p99Ms: 120, slowShare: 0, counters: healthyCounters(1) };
});

const t0 = Date.parse('2026-01-01T00:04:00Z');
const request = (atSeconds: number, comparison?: unknown): CheckRequest => ({
  namespace: 'shop',
  canaryWorkload: 'web-canary',
  stableWorkload: 'web-stable',
  analysis: ANALYSIS_DEFAULTS,
  prometheus: { address },
  at: new Date(t0 + atSeconds * 1000),
  stepStartedAt: new Date(t0),
  ...(comparison === undefined ? {} : { comparison }),
});
const thresholdsOnly = () => createPrometheusAnalyzer({ retry: { retries: 0 }, comparison: false });
const withComparison = () => createPrometheusAnalyzer({ retry: { retries: 0 } });

describe('values outside their domain, at the analyzer', () => {
  it('holds the step instead of passing it when Prometheus reports an error rate of -1', async () => {
    world.errorRate = -1;
    const result = await thresholdsOnly().check(request(60));
    expect(result.verdict).toBe('inconclusive');
    expect(result.errorRate).toBeUndefined();
    expect(result.inconclusive).toEqual([
      'error rate: error rate -1 is not a possible value (a share of requests must be between 0 and 1); check the metrics Prometheus holds',
    ]);
  });

  it('does not call an error rate of 10^6 sampling noise: it is no value at all', async () => {
    world.errorRate = 1e6;
    const result = await thresholdsOnly().check(request(60));
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive.join()).not.toMatch(/sampling noise/);
    expect(result.inconclusive[0]).toMatch(/^error rate: error rate 1000000 is not a possible value/);
  });

  it('is inconclusive on a negative request count, a negative P99 or a slow share above 1', async () => {
    world.requests = -500;
    expect((await thresholdsOnly().check(request(60))).inconclusive).toEqual([
      'requests: canary requests -500 is not a possible value (a count must be 0 or more); check the metrics Prometheus holds',
    ]);
    world.requests = 1000;
    world.p99Ms = -3;
    expect((await thresholdsOnly().check(request(60))).inconclusive[0]).toMatch(
      /^P99: P99 -3 is not a possible value/,
    );
    world.p99Ms = 900;
    world.slowShare = 2;
    expect((await thresholdsOnly().check(request(60))).inconclusive[0]).toMatch(
      /^slow requests: share of slow requests 2 is not a possible value/,
    );
  });

  it('never stores negative counter readings, so the comparison resumes once Prometheus recovers', async () => {
    const analyzer = withComparison();
    // First check: picks the slow edge and reads the baseline at the step start.
    let result = await analyzer.check(request(10));
    let stored = result.comparison;
    world.counters = healthyCounters(2);
    result = await analyzer.check(request(20, stored));
    expect(result.verdict).toBe('pass');
    stored = result.comparison;

    world.counters = { ...healthyCounters(3), 'web-stable': { requests: -1, errors: -1, slow: -1 } };
    result = await analyzer.check(request(30, stored));
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toContain(
      'comparison: requests counter of web-stable {pod="web-stable-0"} reads -1, which no counter can hold; check the metrics Prometheus holds',
    );
    expect(result.comparison).toEqual(stored);

    world.counters = healthyCounters(4);
    result = await analyzer.check(request(40, result.comparison));
    expect(result.verdict).toBe('pass');
    expect(result.inconclusive).toEqual([]);
  });

  it('drops a stored baseline with negative readings instead of staying inconclusive for good', async () => {
    const analyzer = withComparison();
    const first = await analyzer.check(request(10));
    const stored = first.comparison as { last: { stable: { requests: Record<string, number> } } };
    stored.last.stable.requests = { '{pod="web-stable-0"}': -1 };
    world.counters = healthyCounters(2);
    const restarted = await analyzer.check(request(20, stored));
    expect(restarted.verdict).toBe('inconclusive');
    expect(restarted.inconclusive).toEqual([
      'comparison: first reading of the counters; the comparison starts at the next check',
    ]);
    world.counters = healthyCounters(3);
    const resumed = await analyzer.check(request(30, restarted.comparison));
    expect(resumed.verdict).toBe('pass');
  });
});

describe('the error-rate threshold on retried requests', () => {
  // 146 requests, two of them failing on all three attempts: 150 attempts, 6 of them 5xx (4%).
  const retried = { requests: 150, errorRate: 6 / 150 };

  it('judges the error rate the callers saw, so two failed requests retried twice stay within noise', async () => {
    Object.assign(world, retried, { callers: { requests: 146, errorRate: 2 / 146 } });
    const result = await thresholdsOnly().check(request(60));
    expect(result.verdict).toBe('inconclusive');
    expect(result.errorRate).toBeCloseTo(2 / 146, 12);
    expect(result.inconclusive).toEqual([
      'error rate 1.37% is above the limit 1% but within sampling noise of 146 requests',
    ]);
  });

  it('judges the attempts the canary served when no caller reports', async () => {
    Object.assign(world, retried);
    const result = await thresholdsOnly().check(request(60));
    expect(result.verdict).toBe('fail');
    expect(result.failures[0]!.message).toBe('canary error rate 4% is above the limit 1%');
  });
});
