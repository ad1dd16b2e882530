import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPrometheusAnalyzer, type ComparisonStep } from '../../src/analysis/analyzer.js';
import { isNoValue } from '../../src/analysis/prometheus.js';
import { requestsQuery } from '../../src/analysis/promql.js';
import { ISTIO_SIDECAR } from '../../src/analysis/providers/istio.js';
import type { CheckRequest } from '../../src/analysis/types.js';
import { ANALYSIS_DEFAULTS, type AnalysisSpec } from '../../src/api/schema.js';
import { describeOnEachPrometheus } from '../support/prometheus.js';
import {
  startBackfilledPrometheus,
  toOpenMetrics,
  type Family,
  type RunningPrometheus,
  type SeriesSpec,
} from './backfilled-prometheus.js';

// The analyzer against a real Prometheus (2.x and 3.x) holding 20 minutes of Istio metrics, 6 hours in the past
// (backfilled blocks load when inside retention; instant queries at `request.at` read them).

const NAMESPACE = 'shop';
const SCRAPE_SECONDS = 15;
const start = Math.floor((Date.now() / 1000 - 6 * 3600) / 3600) * 3600;

const destination = (workload: string, reporter = 'destination') => ({
  reporter,
  destination_workload_namespace: NAMESPACE,
  destination_workload: workload,
});

/** A counter growing at a constant rate, so increase() over any window is rate × window exactly. */
const requests = (workload: string, code: string, perSecond: number, reporter?: string): SeriesSpec => ({
  name: 'istio_requests_total',
  labels: { ...destination(workload, reporter), response_code: code },
  value: (t) => perSecond * t,
});

/** Cumulative latency buckets, each growing at a constant rate (requests per second at or below `le` ms). */
const latency = (workload: string, cumulativePerSecond: Record<string, number>): SeriesSpec[] =>
  Object.entries(cumulativePerSecond).map(([le, perSecond]) => ({
    name: 'istio_request_duration_milliseconds_bucket',
    labels: { ...destination(workload), le },
    value: (t) => perSecond * t,
  }));

// Seconds after `start` at which the mirror step began (checked at 600 s, as the others).
const MIRROR_STEP_AT_S = 542;

const families: Family[] = [
  {
    family: 'istio_requests',
    type: 'counter',
    series: [
      // web: a good canary that never answered 5xx (no 5xx series exists at all).
      requests('web-canary', '200', 10),
      // The callers' own reports of the same requests (reporter="source"): the thresholds judge their error rate.
      requests('web-canary', '200', 10, 'source'),
      requests('web-stable', '200', 90),
      // api: a bad canary, 5% errors.
      requests('api-canary', '200', 9.5),
      requests('api-canary', '503', 0.5),
      requests('api-stable', '200', 90),
      // quiet: a canary that gets almost no traffic.
      requests('quiet-canary', '200', 0.1),
      // mirror: in a mirror step the canary serves copies, 5% of them failing, which its callers never report; the
      // callers' counts are an earlier release's, whose last requests were scraped after the step started.
      requests('mirror-canary', '200', 9.5),
      requests('mirror-canary', '503', 0.5),
      {
        ...requests('mirror-canary', '200', 10, 'source'),
        value: (t) => 10 * Math.min(t, MIRROR_STEP_AT_S - 1),
      },
      requests('mirror-stable', '200', 90),
    ],
  },
  {
    family: 'istio_request_duration_milliseconds',
    type: 'histogram',
    series: [
      ...latency('web-canary', { '50': 6, '100': 9, '250': 9.6, '500': 10, '1000': 10, '+Inf': 10 }),
      ...latency('api-canary', { '50': 6, '100': 8, '250': 9, '500': 9.5, '1000': 10, '+Inf': 10 }),
      ...latency('quiet-canary', { '50': 0.1, '100': 0.1, '250': 0.1, '500': 0.1, '1000': 0.1, '+Inf': 0.1 }),
    ],
  },
];

// Checks run 10 minutes into the data over a window that does not line up with the scrapes
// (257.342 s), which also proves Prometheus accepts the millisecond durations we write.
const at = new Date((start + 600) * 1000);
const stepStartedAt = new Date((start + 600) * 1000 - 257_342);
// The growth is exact between the scrapes that bracket the window: the last one at or before the step's start
// (start + 330 s) and the last one at or before the check (start + 600 s).
const WINDOW_S = 600 - Math.floor((600 - 257.342) / SCRAPE_SECONDS) * SCRAPE_SECONDS;

const analysis: AnalysisSpec = {
  ...ANALYSIS_DEFAULTS,
  minRequests: 50,
  thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
};

/**
 * Counters are read as exact differences between scrapes, and histogram_quantile interpolates linearly
 * inside a bucket just as the expected values below do: only floating-point rounding is left.
 */
function expectNear(actual: number | undefined, expected: number) {
  expect(actual).toBeDefined();
  expect(Math.abs(actual! - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

let prometheus: RunningPrometheus;

const check = (app: string, overrides: Partial<CheckRequest> = {}, comparison?: ComparisonStep) =>
  createPrometheusAnalyzer({ comparison: comparison ?? false, retry: { retries: 0 } }).check({
    namespace: NAMESPACE,
    canaryWorkload: `${app}-canary`,
    stableWorkload: `${app}-stable`,
    analysis,
    prometheus: { address: prometheus.address },
    at,
    stepStartedAt,
    ...overrides,
  });

describeOnEachPrometheus(
  'canary analysis against a real Prometheus',
  (build) => {
    beforeAll(async () => {
      prometheus = await startBackfilledPrometheus(
        build,
        toOpenMetrics(families, { fromSeconds: start, toSeconds: start + 1200, stepSeconds: SCRAPE_SECONDS }),
      );
    });
    afterAll(async () => {
      await prometheus?.stop();
    });

    it('passes a good canary and reports its requests, error rate and P99', async () => {
      const result = await check('web');
      expect(result.verdict).toBe('pass');
      expect(result.failures).toEqual([]);
      expect(result.inconclusive).toEqual([]);
      expectNear(result.requests, 10 * WINDOW_S);
      // No 5xx series at all is an error rate of 0, not "no data".
      expect(result.errorRate).toBe(0);
      // Rank 0.99 × 10 = 9.9 per second falls in (250, 500] holding 9.6..10: 250 + 250 × 0.3 / 0.4.
      expectNear(result.p99Ms, 437.5);
    });

    it('fails a canary with 5% errors and a slow P99, naming values and limits', async () => {
      const result = await check('api');
      expect(result.verdict).toBe('fail');
      expectNear(result.requests, 10 * WINDOW_S);
      expectNear(result.errorRate, 0.05);
      // Rank 9.9 falls in (500, 1000] holding 9.5..10: 500 + 500 × 0.4 / 0.5.
      expectNear(result.p99Ms, 900);
      expect(result.failures.map((finding) => finding.message)).toEqual([
        'canary error rate 5% is above the limit 1%',
        'canary P99 latency 900 ms is above the limit 500 ms',
      ]);
    });

    it('judges a mirror step on the copies the canary served, not on its callers’ counts', async () => {
      const result = await check('mirror', {
        stepStartedAt: new Date((start + MIRROR_STEP_AT_S) * 1000),
        mirrored: true,
      });
      expect(result.verdict).toBe('fail');
      expectNear(result.errorRate, 0.05);
      expect(result.failures.map((finding) => finding.message)).toEqual([
        'canary error rate 5% is above the limit 1%',
      ]);
    });

    it('is inconclusive on too little canary traffic, whatever the values', async () => {
      const result = await check('quiet');
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toEqual([`too few requests: ${Math.floor(0.1 * WINDOW_S)} of 50`]);
      expectNear(result.requests, 0.1 * WINDOW_S);
    });

    it('is inconclusive when no scrape happened since the step started', async () => {
      const later = new Date(at.getTime() + 5_000);
      const result = await check('web', { at: later, stepStartedAt: new Date(later.getTime() - 3_000) });
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toEqual(['no canary traffic in this step']);
    });

    it('is inconclusive for a workload without metrics', async () => {
      const result = await check('unknown');
      expect(result).toMatchObject({
        verdict: 'inconclusive',
        inconclusive: ['no canary traffic in this step'],
      });
    });

    it('cannot be talked into a pass by a namespace that smuggles in a matcher', async () => {
      // Unescaped, this namespace would widen the selector to every namespace and find web-canary's traffic.
      const result = await check('web', { namespace: `${NAMESPACE}", destination_workload_namespace=~".*` });
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toEqual(['no canary traffic in this step']);
    });

    it('judges custom metrics with the placeholders filled in', async () => {
      const share = {
        name: 'traffic-share',
        query:
          'sum(increase(istio_requests_total{destination_workload_namespace="{{ namespace }}", destination_workload="{{ canary }}", reporter="destination"}[{{ interval }}]))' +
          ' / sum(increase(istio_requests_total{destination_workload_namespace="{{namespace}}", destination_workload="{{stable}}"}[{{interval}}]))',
      };
      const within = await check('web', { analysis: { ...analysis, metrics: [{ ...share, max: 0.2 }] } });
      expect(within.verdict).toBe('pass');
      expectNear(within.metrics['traffic-share'], 10 / 90);

      const above = await check('web', { analysis: { ...analysis, metrics: [{ ...share, max: 0.05 }] } });
      expect(above.verdict).toBe('fail');
      expect(above.failures.map((finding) => finding.message)).toEqual([
        'metric traffic-share 0.1111 is above its max 0.05',
      ]);
    });

    it('reports a custom metric Prometheus rejects as inconclusive with its reason', async () => {
      const result = await check('web', {
        analysis: { ...analysis, metrics: [{ name: 'broken', query: 'sum(' }] },
      });
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toHaveLength(1);
      expect(result.inconclusive[0]).toMatch(
        /^metric broken: Prometheus rejected the query \(bad_data\): .*parse error/,
      );
    });

    it('lets the comparison query Prometheus at the check time and roll back decisively', async () => {
      let stableRequests: number | undefined;
      const comparison: ComparisonStep = async (request, { query }) => {
        const value = await query(
          requestsQuery({
            namespace: request.namespace,
            workload: request.stableWorkload,
            provider: ISTIO_SIDECAR,
            since: request.stepStartedAt,
          }),
        );
        stableRequests = isNoValue(value) ? undefined : value;
        return {
          verdict: 'fail',
          decisive: true,
          evidence: 120,
          failures: [
            { metric: 'comparison', value: 120, limit: 100, message: 'evidence 120 against the canary' },
          ],
          comparison: { checks: 1 },
        };
      };
      const result = await check('web', {}, comparison);
      expectNear(stableRequests, 90 * WINDOW_S);
      expect(result).toMatchObject({
        verdict: 'fail',
        decisive: true,
        evidence: 120,
        comparison: { checks: 1 },
      });
      expect(result.failures.map((finding) => finding.metric)).toEqual(['comparison']);
      expectNear(result.p99Ms, 437.5);
    });
  },
  { needsPromtool: true },
);
