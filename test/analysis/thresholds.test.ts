import { describe, expect, it } from 'vitest';
import { ANALYSIS_DEFAULTS, type AnalysisSpec } from '../../src/api/schema.js';
import { noValue } from '../../src/analysis/prometheus.js';
import { evaluateThresholds, type CanaryMeasurements } from '../../src/analysis/thresholds.js';

const spec: AnalysisSpec = {
  ...ANALYSIS_DEFAULTS,
  minRequests: 50,
  thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
  metrics: [
    { name: 'cpu-ratio', query: 'q1', max: 2 },
    { name: 'saturation', query: 'q2', min: 0.1, max: 0.9 },
  ],
};

const healthy: CanaryMeasurements = {
  requests: 1200,
  errorRate: 0.002,
  p99Ms: 180,
  slowShare: 0.004,
  metrics: { 'cpu-ratio': 1.1, saturation: 0.5 },
};

const empty = noValue('empty', 'no data (empty result)');

describe('evaluating a check against the thresholds', () => {
  it('passes a canary within every limit and reports its values', () => {
    expect(evaluateThresholds(healthy, spec)).toEqual({
      verdict: 'pass',
      requests: 1200,
      errorRate: 0.002,
      p99Ms: 180,
      metrics: { 'cpu-ratio': 1.1, saturation: 0.5 },
      failures: [],
      inconclusive: [],
    });
  });

  it('is inconclusive without canary traffic, whether requests are 0 or missing', () => {
    for (const requests of [0, empty, noValue('nan', 'no data (NaN)')]) {
      const result = evaluateThresholds({ ...healthy, requests, errorRate: 0.5 }, spec);
      expect(result.verdict).toBe('inconclusive');
      expect(result.inconclusive).toEqual(['no canary traffic in this step']);
      expect(result.failures).toEqual([]);
    }
  });

  it('says Prometheus is unreachable rather than "no traffic" when the request count could not be read', () => {
    const down = noValue('unreachable', 'Prometheus unreachable: connect ECONNREFUSED 127.0.0.1:9090');
    const result = evaluateThresholds(
      { requests: down, errorRate: down, p99Ms: down, slowShare: down, metrics: {} },
      spec,
    );
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toEqual([
      'requests: Prometheus unreachable: connect ECONNREFUSED 127.0.0.1:9090',
    ]);
    expect(result).not.toHaveProperty('requests');
  });

  it('does not judge thresholds on too few requests, but still reports the values', () => {
    const result = evaluateThresholds({ ...healthy, requests: 23.4, errorRate: 0.3, p99Ms: 2000 }, spec);
    expect(result).toMatchObject({
      verdict: 'inconclusive',
      inconclusive: ['too few requests: 23 of 50'],
      failures: [],
      requests: 23.4,
      errorRate: 0.3,
      p99Ms: 2000,
    });
  });

  it('fails on an error rate above the limit, saying value and limit', () => {
    const result = evaluateThresholds({ ...healthy, errorRate: 0.04832 }, spec);
    expect(result.verdict).toBe('fail');
    expect(result.failures).toEqual([
      {
        metric: 'errorRate',
        value: 0.04832,
        limit: 0.01,
        message: 'canary error rate 4.83% is above the limit 1%',
      },
    ]);
  });

  it('passes an error rate exactly at the limit', () => {
    expect(evaluateThresholds({ ...healthy, errorRate: 0.01 }, spec).verdict).toBe('pass');
  });

  it('fails on a P99 latency above the limit', () => {
    const result = evaluateThresholds({ ...healthy, p99Ms: 1520.3, slowShare: 0.05 }, spec);
    expect(result.verdict).toBe('fail');
    expect(result.failures).toEqual([
      {
        metric: 'p99Latency',
        value: 1520.3,
        limit: 500,
        message: 'canary P99 latency 1520 ms is above the limit 500 ms',
      },
    ]);
  });

  it('fails on a custom metric above its max or below its min, named after the metric', () => {
    const above = evaluateThresholds({ ...healthy, metrics: { 'cpu-ratio': 3.2, saturation: 0.5 } }, spec);
    expect(above.failures).toEqual([
      { metric: 'cpu-ratio', value: 3.2, limit: 2, message: 'metric cpu-ratio 3.2 is above its max 2' },
    ]);
    const below = evaluateThresholds({ ...healthy, metrics: { 'cpu-ratio': 1, saturation: 0.05 } }, spec);
    expect(below.verdict).toBe('fail');
    expect(below.failures).toEqual([
      {
        metric: 'saturation',
        value: 0.05,
        limit: 0.1,
        message: 'metric saturation 0.05 is below its min 0.1',
      },
    ]);
  });

  it('lists every breach of one check', () => {
    const result = evaluateThresholds(
      {
        ...healthy,
        errorRate: 0.2,
        p99Ms: 900,
        slowShare: 0.03,
        metrics: { 'cpu-ratio': 5, saturation: 0.5 },
      },
      spec,
    );
    expect(result.failures.map((finding) => finding.metric)).toEqual([
      'errorRate',
      'p99Latency',
      'cpu-ratio',
    ]);
  });

  it('fails on a breach even when another measurement is missing', () => {
    const result = evaluateThresholds(
      { ...healthy, errorRate: 0.2, p99Ms: noValue('nan', 'no data (NaN)') },
      spec,
    );
    expect(result.verdict).toBe('fail');
    expect(result.inconclusive).toEqual([]);
    expect(result).not.toHaveProperty('p99Ms');
  });

  it('is inconclusive, never a pass, when a measurement has no value', () => {
    const result = evaluateThresholds(
      {
        ...healthy,
        errorRate: noValue('empty', 'no data (empty result)'),
        p99Ms: noValue('infinite', 'no data (+Inf)'),
        metrics: { 'cpu-ratio': noValue('multiple-series', 'expected one series, got 3'), saturation: 0.5 },
      },
      spec,
    );
    expect(result).toEqual({
      verdict: 'inconclusive',
      requests: 1200,
      metrics: { saturation: 0.5 },
      failures: [],
      inconclusive: [
        'error rate: no data (empty result)',
        'P99: no data (+Inf)',
        'metric cpu-ratio: expected one series, got 3',
      ],
    });
  });

  it('is inconclusive when a configured metric was not measured at all', () => {
    const result = evaluateThresholds({ ...healthy, metrics: { 'cpu-ratio': 1 } }, spec);
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toEqual(['metric saturation: not measured']);
  });

  it('passes with zero minRequests as soon as there is any traffic', () => {
    expect(evaluateThresholds({ ...healthy, requests: 1 }, { ...spec, minRequests: 0 }).verdict).toBe('pass');
  });
});

describe('the error-rate guard at small sample sizes', () => {
  const judge = (errors: number, requests: number) =>
    evaluateThresholds({ ...healthy, requests, errorRate: errors / requests }, spec).verdict;

  it('neither fails nor passes a canary above the limit within sampling noise: one stray error early on', () => {
    expect(judge(1, 60)).toBe('inconclusive'); // 1.7% measured, well within noise of a 1% limit
    expect(judge(2, 150)).toBe('inconclusive');
    expect(judge(1, 120)).toBe('pass'); // 0.83% is within the limit
    const result = evaluateThresholds({ ...healthy, requests: 60, errorRate: 1 / 60 }, spec);
    expect(result.inconclusive).toEqual([
      'error rate 1.67% is above the limit 1% but within sampling noise of 60 requests',
    ]);
  });

  it('fails a canary clearly above the limit after a few dozen requests', () => {
    expect(judge(4, 50)).toBe('fail'); // 8%
    expect(judge(12, 240)).toBe('fail'); // 5%
    expect(judge(30, 1500)).toBe('fail'); // 2% on plenty of data
  });

  it('matches the plain comparison once the sample is large', () => {
    expect(judge(1_100, 100_000)).toBe('fail'); // 1.1%
    expect(judge(900, 100_000)).toBe('pass');
    expect(judge(1_020, 100_000)).toBe('inconclusive'); // 1.02%: above the limit, not beyond noise
  });
});

describe('the P99 guard at small sample sizes', () => {
  it('neither fails nor passes on one slow outlier among a few dozen requests', () => {
    // 27 requests, one slower than 500 ms: P99 lands in the (500, 1000] bucket, but 1 of 27 is within noise of 1%.
    const result = evaluateThresholds({ ...healthy, requests: 60, p99Ms: 865, slowShare: 1 / 60 }, spec);
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toEqual([
      'P99 865 ms is above the limit 500 ms but within sampling noise of 60 requests',
    ]);
  });

  it('fails once the share of slow requests is above 1% beyond noise', () => {
    expect(evaluateThresholds({ ...healthy, requests: 200, p99Ms: 865, slowShare: 0.06 }, spec).verdict).toBe(
      'fail',
    );
  });

  it('is inconclusive when the slow requests cannot be counted', () => {
    const result = evaluateThresholds(
      { ...healthy, p99Ms: 865, slowShare: noValue('empty', 'no data') },
      spec,
    );
    expect(result.inconclusive).toEqual(['slow requests: no data']);
  });
});

describe('a share with no sampling-noise bound', () => {
  it('does not call an error rate of 10^6 within sampling noise, whose Wilson bound would be NaN', () => {
    const result = evaluateThresholds({ ...healthy, errorRate: 1e6 }, spec);
    expect(result.verdict).toBe('inconclusive');
    expect(result.inconclusive).toEqual([
      'error rate 100000000% is above the limit 1% but it is not a share of 1200 requests',
    ]);
  });
});
