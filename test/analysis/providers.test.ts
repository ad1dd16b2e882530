import { describe, expect, it } from 'vitest';
import { p99LatencyQuery, slowShareQuery } from '../../src/analysis/promql.js';
import { customProvider } from '../../src/analysis/providers/custom.js';
import { CILIUM_HUBBLE } from '../../src/analysis/providers/cilium.js';
import { withMatchers } from '../../src/analysis/providers/provider.js';
import { customMetricsSchema } from '../../src/api/schema.js';

describe('the metrics providers’ selectors', () => {
  it('adds matchers to a selector with or without matchers of its own', () => {
    expect(withMatchers('m{}', 'le="1"')).toBe('m{le="1"}');
    expect(withMatchers('m{a="x}"}', 'le="1"')).toBe('m{a="x}", le="1"}');
  });

  it('fills a custom provider’s templates with the track, escaped where it stands, a hostile name included', () => {
    const provider = customProvider(
      customMetricsSchema.parse({
        requests: 'http_requests_total{namespace="{{ namespace }}", deployment=~"{{ workload }}"}',
        errors:
          'http_requests_total{namespace=\'{{ namespace }}\', deployment="{{ workload }}", code=~"5.."}',
      }),
    );
    expect(provider.served.requests('shop', 'a.b')).toBe(
      'http_requests_total{namespace="shop", deployment=~"a\\\\.b"}',
    );
    expect(provider.served.errors("o'neil", 'x"} or vector(1)')).toEqual([
      'http_requests_total{namespace=\'o\\\'neil\', deployment="x\\"} or vector(1)", code=~"5.."}',
    ]);
    // Without durationBuckets there is no histogram: P99 and the slow share select nothing.
    expect(provider.duration).toBeUndefined();
    const window = { namespace: 'shop', workload: 'web-canary', provider, since: new Date(0) };
    expect(p99LatencyQuery(window)).toBe('vector(0) unless vector(0)');
    expect(slowShareQuery(window, 500)).toBe('vector(0) unless vector(0)');
  });

  it('reads Hubble’s seconds buckets at the edge in seconds and reports P99 in ms', () => {
    const window = { namespace: 'shop', workload: 'web-canary', provider: CILIUM_HUBBLE, since: new Date(0) };
    expect(slowShareQuery(window, 250)).toContain('le="0.25"');
    expect(p99LatencyQuery(window)).toMatch(
      /^histogram_quantile\(0\.99, .*hubble_http_request_duration_seconds_bucket.*\) \* 1000$/,
    );
  });
});
