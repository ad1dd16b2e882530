import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import winston from 'winston';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPrometheusAnalyzer,
  mergeComparison,
  type ComparisonStep,
} from '../../src/analysis/analyzer.js';
import type { CheckRequest, CheckResult } from '../../src/analysis/types.js';
import { ANALYSIS_DEFAULTS, MAX_QUERY_LENGTH } from '../../src/api/schema.js';
import { startHttpServer } from '../../src/server/http.js';

const passed: CheckResult = {
  verdict: 'pass',
  requests: 500,
  errorRate: 0,
  p99Ms: 120,
  metrics: {},
  failures: [],
  inconclusive: [],
};
const tooFew: CheckResult = {
  ...passed,
  verdict: 'inconclusive',
  requests: 10,
  inconclusive: ['too few requests: 10 of 50'],
};
const breached: CheckResult = {
  ...passed,
  verdict: 'fail',
  errorRate: 0.2,
  failures: [
    { metric: 'errorRate', value: 0.2, limit: 0.01, message: 'canary error rate 20% is above the limit 1%' },
  ],
};
const evidence = {
  metric: 'comparison',
  value: 150,
  limit: 100,
  message: 'the canary fails more often than stable',
};

describe('merging the comparison into the threshold check', () => {
  it('lets a decisive comparison fail win over passing or inconclusive thresholds', () => {
    for (const thresholds of [passed, tooFew]) {
      const result = mergeComparison(thresholds, {
        verdict: 'fail',
        decisive: true,
        failures: [evidence],
        evidence: 150,
      });
      expect(result).toMatchObject({
        verdict: 'fail',
        decisive: true,
        evidence: 150,
        failures: [evidence],
        inconclusive: [],
      });
      expect(result.requests).toBe(thresholds.requests);
    }
  });

  it('keeps an inconclusive threshold check inconclusive when the comparison fails without being decisive', () => {
    const result = mergeComparison(tooFew, { verdict: 'fail', failures: [evidence] });
    expect(result).toMatchObject({
      verdict: 'inconclusive',
      failures: [],
      inconclusive: ['too few requests: 10 of 50'],
    });
    expect(result).not.toHaveProperty('decisive');
  });

  it('reports threshold breaches and comparison findings together', () => {
    const result = mergeComparison(breached, { verdict: 'fail', failures: [evidence] });
    expect(result.verdict).toBe('fail');
    expect(result.failures.map((finding) => finding.metric)).toEqual(['errorRate', 'comparison']);
  });

  it('needs the comparison to pass too: its inconclusive verdict holds the step', () => {
    const result = mergeComparison(passed, {
      verdict: 'inconclusive',
      inconclusive: ['comparison: not enough stable traffic'],
      rateRatio: { lower: 0.5, upper: 2.1 },
      comparison: { n: 3 },
    });
    expect(result).toMatchObject({
      verdict: 'inconclusive',
      inconclusive: ['comparison: not enough stable traffic'],
      rateRatio: { lower: 0.5, upper: 2.1 },
      comparison: { n: 3 },
    });
  });

  it('passes when both pass', () => {
    expect(mergeComparison(passed, { verdict: 'pass', evidence: 0.4 })).toMatchObject({
      verdict: 'pass',
      evidence: 0.4,
    });
  });
});

describe('the analyzer when Prometheus is down', () => {
  let address: string;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (overrides: Partial<CheckRequest> = {}): CheckRequest => ({
    namespace: 'shop',
    canaryWorkload: 'web-canary',
    stableWorkload: 'web-stable',
    analysis: ANALYSIS_DEFAULTS,
    prometheus: { address },
    at: new Date('2026-01-01T00:05:00Z'),
    stepStartedAt: new Date('2026-01-01T00:04:00Z'),
    comparison: { stored: 'state' },
    ...overrides,
  });
  // Thresholds only unless a test passes its own comparison step.
  const fast = { retry: { retries: 0 }, comparison: false as const };

  it('returns an inconclusive check instead of throwing, saying why', async () => {
    const result = await createPrometheusAnalyzer(fast).check(request());
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toEqual([
      `requests: Prometheus unreachable: connect ECONNREFUSED ${address.slice(7)}`,
    ]);
    // Without a comparison step the stored comparison state is carried through untouched.
    expect(result.comparison).toEqual({ stored: 'state' });
  });

  it('logs the failed query through a winston logger passed in the options', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = winston.createLogger({
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream })],
    });
    await createPrometheusAnalyzer({ ...fast, logger }).check(request());
    const warnings = lines.filter((line) => line.level === 'warn');
    // Requests, error rate, P99 and slow requests, and the callers' requests and error rate.
    expect(warnings).toHaveLength(6);
    expect(warnings[0]).toMatchObject({ message: 'Prometheus query failed', address });
  });

  it('turns a throwing comparison into an inconclusive reason and keeps its stored state', async () => {
    const comparison: ComparisonStep = async () => {
      throw new Error('stable has no latency buckets');
    };
    const result = await createPrometheusAnalyzer({ ...fast, comparison }).check(request());
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toContain('comparison: stable has no latency buckets');
    expect(result.comparison).toEqual({ stored: 'state' });
  });

  it('keeps JavaScript error text of a bug out of the reason, which reaches status', async () => {
    const comparison: ComparisonStep = async (req) => {
      return { verdict: (req as unknown as { nothing: { resultType: 'pass' } }).nothing.resultType };
    };
    const result = await createPrometheusAnalyzer({ ...fast, comparison }).check(request());
    expect(result.inconclusive).toContain(
      'comparison: could not be computed (an internal error; the controller log has the details)',
    );
    expect(result.inconclusive.join(' ')).not.toContain('Cannot read properties');
  });

  it('does not run the comparison when the Rollout turned it off', async () => {
    let called = false;
    const comparison: ComparisonStep = async () => {
      called = true;
      return { verdict: 'fail', decisive: true, failures: [evidence] };
    };
    const analysis = {
      ...ANALYSIS_DEFAULTS,
      comparison: { ...ANALYSIS_DEFAULTS.comparison, enabled: false },
    };
    const result = await createPrometheusAnalyzer({ ...fast, comparison }).check(request({ analysis }));
    expect(called).toBe(false);
    expect(result.verdict).toBe('inconclusive');
  });

  it('runs the canary-vs-stable comparison by default and keeps its stored state when Prometheus is down', async () => {
    const result = await createPrometheusAnalyzer({ retry: { retries: 0 } }).check(
      request({ comparison: undefined }),
    );
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive.some((reason) => reason.startsWith('comparison: '))).toBe(true);
    expect(result.comparison).toBeUndefined();
  });

  it('does not query before the step has started', async () => {
    const at = new Date('2026-01-01T00:04:00Z');
    const result = await createPrometheusAnalyzer(fast).check(request({ at, stepStartedAt: at }));
    expect(result.inconclusive).toEqual(['no canary traffic in this step']);
  });
});

describe("a check's time budget", () => {
  it('ends a check against a Prometheus that never answers at its budget, while /healthz answers at once', async () => {
    const hanging = createHttpServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const { server, url } = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => true,
    });
    try {
      // The heaviest query the schema admits, of the shape that took the old placeholder regex 15 s of the event loop.
      const heavy = { name: 'heavy', query: '{{' + ' '.repeat(MAX_QUERY_LENGTH - 2), max: 1 };
      const checking = createPrometheusAnalyzer({ budgetMs: 2_000, timeoutMs: 60_000 }).check({
        namespace: 'shop',
        canaryWorkload: 'web-canary',
        stableWorkload: 'web-stable',
        analysis: { ...ANALYSIS_DEFAULTS, metrics: [heavy] },
        prometheus: { address: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}` },
        at: new Date('2026-01-01T00:05:00Z'),
        stepStartedAt: new Date('2026-01-01T00:04:00Z'),
      });
      // Answered while the check still waits on Prometheus: the event loop is free (the old regex held it 15 s).
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      let checkEnded = false;
      void checking.then(() => (checkEnded = true));
      await Promise.resolve();
      expect(checkEnded).toBe(false);

      const result = await checking;
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toContain(
        "requests: the check's time budget of 2s ran out before Prometheus answered",
      );
      expect(result.inconclusive.some((reason) => reason.startsWith('comparison: '))).toBe(true);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 30_000);
});
