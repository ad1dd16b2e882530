import { describe, expect, it } from 'vitest';
import { leMatcher, leSpellings, openMetricsFloat } from '../../src/analysis/bucket-label.js';

// What real Prometheus 3 stores for each edge is pinned against the binary in test/sandbox/prometheus.test.ts;
// these are the cases of labels.FormatOpenMetricsFloat's rule that the Envoy edges do not reach.
describe('the spellings of a bucket edge', () => {
  it('spells edges as Prometheus 3 stores them: ".0" on whole numbers, Go exponents from 1e6 on', () => {
    expect([0.5, 1, 500, 600000, 1800000, 3600000].map(openMetricsFloat)).toEqual([
      '0.5',
      '1.0',
      '500.0',
      '600000.0',
      '1.8e+06',
      '3.6e+06',
    ]);
    expect([0.0001, 0.00001, 0, -2, Infinity].map(openMetricsFloat)).toEqual([
      '0.0001',
      '1e-05',
      '0.0',
      '-2.0',
      '+Inf',
    ]);
  });

  it('accepts the exporter’s spelling and Prometheus 3’s, each once', () => {
    expect(leSpellings(500)).toEqual(['500', '500.0']);
    expect(leSpellings(0.5)).toEqual(['0.5']);
    // Envoy writes "3600000", a Go client "3.6e+06", and 3.x stores the latter.
    expect(leSpellings(3600000)).toEqual(['3600000', '3.6e+06']);
    expect(leSpellings(Infinity)).toEqual(['+Inf']);
  });

  it('builds a PromQL matcher with the regex dots escaped for a double-quoted string', () => {
    expect(leMatcher(500)).toBe('le=~"500|500\\\\.0"');
    expect(leMatcher(3600000)).toBe('le=~"3600000|3\\\\.6e\\\\+06"');
    expect(leMatcher(0.5)).toBe('le="0.5"');
    expect(leMatcher(Infinity)).toBe('le="+Inf"');
  });
});
