import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/api/validate.js';

const spec = (analysis: Record<string, unknown>) => ({
  targetRef: { name: 'product-service' },
  trafficRouting: { gatewayAPI: { httpRoute: { name: 'product-service' } } },
  analysis,
});

function problems(input: unknown): string[] {
  const result = validateSpec(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

const requests = 'http_requests_total{namespace="{{ namespace }}", deployment="{{ workload }}"}';

describe('analysis.metricsProvider', () => {
  it.each(['istio', 'istio-ambient', 'linkerd', 'cilium'])('accepts %s without anything else', (provider) => {
    expect(problems(spec({ metricsProvider: provider }))).toEqual([]);
  });

  it('names the providers it knows when given another', () => {
    const found = problems(spec({ metricsProvider: 'consul' }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^spec\.analysis\.metricsProvider: .*istio.*istio-ambient.*linkerd.*cilium.*custom/,
    );
  });

  it('accepts a custom provider with request and error selectors, and a histogram in ms', () => {
    const result = validateSpec(
      spec({
        metricsProvider: 'custom',
        customMetrics: {
          requests,
          errors:
            'http_requests_total{namespace="{{ namespace }}", deployment="{{ workload }}", code=~"5.."}',
          durationBuckets: 'http_duration_ms_bucket{deployment="{{ workload }}"}',
          durationUnit: 'ms',
        },
      }),
    );
    expect(result.ok).toBe(true);
  });

  it('asks for customMetrics when the provider is custom, with an example', () => {
    expect(problems(spec({ metricsProvider: 'custom' }))).toEqual([
      expect.stringMatching(
        /^spec\.analysis\.customMetrics: is required with metricsProvider: custom; .*requests:/,
      ),
    ]);
  });

  it('refuses customMetrics under another provider, saying which field to change', () => {
    expect(
      problems(spec({ metricsProvider: 'linkerd', customMetrics: { requests, errors: requests } })),
    ).toEqual([
      'spec.analysis.customMetrics: is set but analysis.metricsProvider is not custom; set metricsProvider: custom or remove customMetrics',
    ]);
  });

  it('refuses a template that is not a plain selector, one without {{ workload }}, and an unknown placeholder', () => {
    const found = problems(
      spec({
        metricsProvider: 'custom',
        customMetrics: {
          requests: `sum(${requests})`,
          errors: 'http_requests_total{namespace="{{ namespace }}", code=~"5.."}',
          durationBuckets: 'http_duration_seconds_bucket{deployment="{{ canary }}"}',
        },
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^spec\.analysis\.customMetrics\.requests: is not a selector metric\{\.\.\.\}; /),
      expect.stringMatching(/^spec\.analysis\.customMetrics\.errors: does not use \{\{ workload \}\}/),
      expect.stringMatching(
        /^spec\.analysis\.customMetrics\.durationBuckets: \{\{ canary \}\} is not a known placeholder; use \{\{ namespace \}\}, \{\{ workload \}\}/,
      ),
      expect.stringMatching(
        /^spec\.analysis\.customMetrics\.durationBuckets: does not use \{\{ workload \}\}/,
      ),
    ]);
  });
});
