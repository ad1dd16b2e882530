import { describe, expect, it } from 'vitest';
import { metricQueryProblems, renderMetricQuery } from '../../src/analysis/metric-template.js';

const values = { namespace: 'shop', canary: 'web-canary', stable: 'web-stable', windowMs: 90_000 };

/** The string value PromQL reads from a double-quoted literal (its escapes are a subset of JSON's). */
const doubleQuoted = (literal: string) => JSON.parse(literal) as string;

describe('custom metric queries', () => {
  it('substitutes every placeholder, with or without spaces inside the braces', () => {
    const query =
      'sum(rate(x{ns="{{ namespace }}", w="{{canary}}"}[{{  interval }}])) / sum(rate(x{ns="{{namespace}}", w="{{ stable}}"}[{{interval}}]))';
    expect(renderMetricQuery(query, values)).toBe(
      'sum(rate(x{ns="shop", w="web-canary"}[90000ms])) / sum(rate(x{ns="shop", w="web-stable"}[90000ms]))',
    );
  });

  it('escapes substituted names for a double-quoted label value', () => {
    const namespace = 'a"} or vector(1) #\\';
    const rendered = renderMetricQuery('x{namespace="{{ namespace }}"}', { ...values, namespace });
    const literal = /^x\{namespace=(".*")\}$/.exec(rendered)![1]!;
    expect(doubleQuoted(literal)).toBe(namespace);
  });

  it("escapes substituted names for a single-quoted label value, where ' ends the string", () => {
    const namespace = "a'} or vector(1) #";
    expect(renderMetricQuery("x{namespace='{{ namespace }}'}", { ...values, namespace })).toBe(
      "x{namespace='a\\'} or vector(1) #'}",
    );
  });

  it('regex-escapes names inside =~ and !~ matchers, so a dot matches only a dot', () => {
    const canary = 'web.v2-canary';
    expect(renderMetricQuery('x{pod=~"{{ canary }}-.*"}', { ...values, canary })).toBe(
      'x{pod=~"web\\\\.v2-canary-.*"}',
    );
    expect(renderMetricQuery("x{pod!~ '{{ canary }}'}", { ...values, canary: 'a+b' })).toBe(
      "x{pod!~ 'a\\\\+b'}",
    );
    // The same name in a plain matcher next to it is not regex-escaped.
    expect(renderMetricQuery('x{a=~"{{ canary }}", b="{{ canary }}"}', { ...values, canary })).toBe(
      'x{a=~"web\\\\.v2-canary", b="web.v2-canary"}',
    );
  });

  it('refuses names outside a quoted string and inside `…` raw strings, which cannot be escaped', () => {
    expect(metricQueryProblems('x{pod={{ canary }}}')).toEqual([
      '{{ canary }} is outside a quoted string; put it in double quotes, e.g. destination_workload="{{ canary }}"',
    ]);
    expect(metricQueryProblems('x{pod=`{{ stable }}`}')).toEqual([
      '{{ stable }} is inside a `…` raw string, which cannot be escaped; use double quotes instead',
    ]);
    expect(() => renderMetricQuery('x{pod=`{{ stable }}`}', values)).toThrow('raw string');
  });

  it('keeps track of quotes: an escaped quote does not end the string, and quotes in comments do not count', () => {
    expect(metricQueryProblems('x{a="say \\"hi\\" {{ canary }}"}')).toEqual([]);
    expect(metricQueryProblems('x{a="{{ canary }}"} # it\'s "fine"\n+ y{b="{{ stable }}"}')).toEqual([]);
    expect(metricQueryProblems('x{a="q"} + {{ canary }}')).toHaveLength(1);
  });

  it('accepts {{ interval }} anywhere: a duration needs no escaping', () => {
    expect(metricQueryProblems('rate(x[{{ interval }}])')).toEqual([]);
  });

  it('rejects an unknown placeholder, naming it and the ones that exist', () => {
    expect(() => renderMetricQuery('x{pod="{{ pod }}"}', values)).toThrow(
      'invalid query: {{ pod }} is not a known placeholder; use {{ namespace }}, {{ canary }}, {{ stable }}, {{ interval }}',
    );
    expect(metricQueryProblems('x{a="{{ canary }}", b="{{ Pod }}", c="{{ zone}}"}')).toEqual([
      '{{ Pod }} is not a known placeholder; use {{ namespace }}, {{ canary }}, {{ stable }}, {{ interval }}',
      '{{ zone }} is not a known placeholder; use {{ namespace }}, {{ canary }}, {{ stable }}, {{ interval }}',
    ]);
  });

  it('leaves a query without placeholders unchanged', () => {
    expect(renderMetricQuery('vector(1)', values)).toBe('vector(1)');
  });

  // The timeout is a hang guard: `{{` and 4,000 spaces took the old placeholder regex about 15 s.
  it(
    'scans a query that opens braces it never closes without hanging the event loop',
    { timeout: 5_000 },
    () => {
      const hostile = ['{{' + ' '.repeat(4_000), '{{'.repeat(2_000), `x{a="${'{{ '.repeat(1_300)}"}`];
      for (const query of hostile) expect(metricQueryProblems(query)).toEqual(expect.any(Array));
    },
  );
});
