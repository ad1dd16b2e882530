import { describe, expect, it } from 'vitest';
import {
  errorRateQuery,
  escapeLabelValue,
  p99LatencyQuery,
  promDuration,
  requestsQuery,
  latencyLimitEdge,
  slowShareQuery,
} from '../../src/analysis/promql.js';
import { ISTIO_SIDECAR } from '../../src/analysis/providers/istio.js';

const provider = ISTIO_SIDECAR;

/** Reads a Go/PromQL double-quoted string starting at `text[start] === '"'`; returns its value and end. */
function readQuoted(text: string, start: number): { value: string; end: number } {
  expect(text[start]).toBe('"');
  const decode: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\n') throw new Error('raw newline inside a PromQL string');
    if (char === '"') return { value, end: i + 1 };
    if (char === '\\') {
      const next = text[++i]!;
      const decoded = decode[next];
      if (decoded === undefined) throw new Error(`invalid escape \\${next}`);
      value += decoded;
    } else value += char;
  }
  throw new Error('unterminated string');
}

/** Label matchers of a `{a="x", b="y"}` list, parsed the way PromQL's lexer reads them. */
function parseMatchers(text: string): Record<string, string> {
  const matchers: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const name = /^\s*,?\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*/.exec(text.slice(i));
    if (!name) throw new Error(`unexpected text: ${text.slice(i)}`);
    i += name[0].length;
    const { value, end } = readQuoted(text, i);
    matchers[name[1]!] = value;
    i = end;
    i += /^\s*/.exec(text.slice(i))![0].length;
  }
  return matchers;
}

const hostile = ['a"} or vector(1) #', 'back\\slash', 'line\nbreak', 'tab\tand "quotes"', 'end\\'];

describe('escaping cluster values for PromQL', () => {
  it('escapes backslash, double quote and newline the way Go strings do', () => {
    expect(escapeLabelValue('a\\b')).toBe('a\\\\b');
    expect(escapeLabelValue('say "hi"')).toBe('say \\"hi\\"');
    expect(escapeLabelValue('one\ntwo')).toBe('one\\ntwo');
    expect(escapeLabelValue('plain-name.1')).toBe('plain-name.1');
  });

  it.each(hostile)('keeps %j a plain label value that cannot change the query', (namespace) => {
    const selector = provider.served.requests(namespace, 'web-canary');
    expect(selector.startsWith('istio_requests_total{') && selector.endsWith('}')).toBe(true);
    expect(parseMatchers(selector.slice('istio_requests_total{'.length, -1))).toEqual({
      reporter: 'destination',
      destination_workload_namespace: namespace,
      destination_workload: 'web-canary',
    });
  });

  /** The bodies of the `{reporter=...}` selectors of a query, read as PromQL reads them (quotes and escapes). */
  const selectorBodies = (query: string): [string, string][] => {
    const bodies: [string, string][] = [];
    for (let i = query.indexOf('{reporter='); i >= 0; i = query.indexOf('{reporter=', i + 1)) {
      let j = i + 1;
      let quoted = false;
      for (; j < query.length; j++) {
        const c = query[j];
        if (quoted && c === '\\') j++;
        else if (c === '"') quoted = !quoted;
        else if (!quoted && c === '}') break;
      }
      bodies.push([query.slice(i, j + 1), query.slice(i + 1, j)]);
    }
    return bodies;
  };

  it('a malicious namespace stays inside the selector of every built query', () => {
    const namespace = 'a"} or vector(1) #';
    for (const build of [requestsQuery, errorRateQuery, p99LatencyQuery]) {
      const query = build({ namespace, workload: 'web-canary', provider, since: new Date(0) });
      // Every selector in the query parses back to exactly the three (or four) intended matchers.
      const selectors = selectorBodies(query);
      expect(selectors.length).toBeGreaterThan(0);
      for (const [, body] of selectors) {
        const matchers = parseMatchers(
          body!.replace(/, (response_code=~"5\.\."|grpc_response_status=~"2\|4\|12\|13\|14\|15")$/, ''),
        );
        expect(matchers.destination_workload_namespace).toBe(namespace);
        expect(Object.keys(matchers)).toEqual([
          'reporter',
          'destination_workload_namespace',
          'destination_workload',
        ]);
      }
      expect(query).not.toMatch(/[^"]\} or vector\(1\)/);
    }
  });
});

describe('canary queries', () => {
  const since = new Date('2026-11-21T06:00:00.250Z');
  const window = { namespace: 'shop', workload: 'web-canary', provider, since };
  const sel =
    'reporter="destination", destination_workload_namespace="shop", destination_workload="web-canary"';
  const growth = (series: string) => `(((${series} - (${series} @ 1795240800.250)) >= 0) or ${series})`;

  it('measures requests over the step window as exact counts, counting series born in it in full', () => {
    expect(requestsQuery(window)).toBe(`sum by () (${growth(`istio_requests_total{${sel}}`)})`);
  });

  it('divides 5xx and gRPC server errors by all requests, each series once, 0 errors when none exists', () => {
    const fiveXx = growth(`istio_requests_total{${sel}, response_code=~"5.."}`);
    const grpc = growth(`istio_requests_total{${sel}, grpc_response_status=~"2|4|12|13|14|15"}`);
    const requests = `sum by () (${growth(`istio_requests_total{${sel}}`)})`;
    expect(errorRateQuery(window)).toBe(
      `(sum by () ((${fiveXx}) or (${grpc})) or 0 * ${requests}) / ${requests}`,
    );
  });

  it('takes the P99 from the summed latency buckets', () => {
    expect(p99LatencyQuery(window)).toBe(
      `histogram_quantile(0.99, sum by (le) (${growth(`istio_request_duration_milliseconds_bucket{${sel}}`)}))`,
    );
  });

  it('writes windows as whole milliseconds, never zero', () => {
    expect(promDuration(17_342.4)).toBe('17342ms');
    expect(promDuration(60_000)).toBe('60000ms');
    expect(promDuration(0)).toBe('1ms');
  });
});

describe('the slow-request share behind the P99 guard', () => {
  it('counts requests slower than the largest bucket edge at or below the limit', () => {
    expect(latencyLimitEdge(500)).toBe(500);
    expect(latencyLimitEdge(300)).toBe(250);
    expect(latencyLimitEdge(0.1)).toBe(0.5);
  });

  it('reads the edge bucket whether Prometheus stored `le` as "500" (2.x) or "500.0" (3.x), counting it once', () => {
    const query = slowShareQuery(
      { namespace: 'shop', workload: 'web-canary', provider, since: new Date(0) },
      500,
    );
    expect(query).toContain('le=~"500|500\\\\.0"');
    expect(query).toContain('le="+Inf"');
    expect(query.startsWith('1 - sum by () (max without (le) (')).toBe(true);
  });
});
