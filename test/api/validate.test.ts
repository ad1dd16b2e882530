import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from '../../src/api/duration.js';
import { validateRollout, validateSpec } from '../../src/api/validate.js';

const spec = (extra: Record<string, unknown> = {}) => ({
  targetRef: { name: 'product-service' },
  trafficRouting: {
    istio: { virtualService: { name: 'product-service' }, destinationRule: { name: 'product-service' } },
  },
  ...extra,
});

function problems(input: unknown): string[] {
  const result = validateSpec(input);
  return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('Rollout validation', () => {
  it('accepts the minimal spec and fills in the defaults of DESIGN §2', () => {
    const result = validateSpec(spec());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.spec.steps.map((s) => s.weight)).toEqual([5, 25, 50, 100]);
    expect(result.spec.analysis).toMatchObject({
      interval: '10s',
      stepDuration: '1m',
      minRequests: 50,
      failureLimit: 1,
      onInconclusive: 'hold',
      inconclusiveLimit: 10,
      thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
      comparison: { enabled: true, falseRollbackRate: 0.01 },
    });
    expect(result.spec.trafficRouting.istio?.destinationRule).toMatchObject({
      stableSubset: 'stable',
      canarySubset: 'canary',
    });
    expect(result.spec.progressDeadline).toBe('10m');
  });

  it('names the step whose weight does not increase, with the fix', () => {
    expect(problems(spec({ steps: [{ weight: 5 }, { weight: 50 }, { weight: 40 }] }))).toEqual([
      "spec.steps[2].weight: 40 is not above the previous step's 50; weights must increase from step to step",
    ]);
  });

  it('rejects weights above 100 and below 1', () => {
    expect(problems(spec({ steps: [{ weight: 0 }, { weight: 120 }] }))).toEqual([
      'spec.steps[0].weight: 0 is below the minimum 1; use a larger value',
      'spec.steps[1].weight: 120 is above the maximum 100; use a smaller value',
    ]);
  });

  it('rejects negative and unparsable durations with an example of a good one', () => {
    const found = problems(
      spec({ analysis: { interval: '-5s', stepDuration: 'soon' }, progressDeadline: '0s' }),
    );
    expect(found).toEqual([
      'spec.analysis.interval: "-5s" is not a duration; use a positive duration such as 500ms, 15s, 1m or 1h30m',
      'spec.analysis.stepDuration: "soon" is not a duration; use a positive duration such as 500ms, 15s, 1m or 1h30m',
      'spec.progressDeadline: "0s" is below the minimum 1s (no pod becomes ready that fast); use e.g. 15s',
    ]);
    expect(problems(spec({ progressDeadline: '0s' }))).toEqual([
      'spec.progressDeadline: "0s" is below the minimum 1s (no pod becomes ready that fast); use e.g. 15s',
    ]);
  });

  it('refuses an interval below 1s, which only multiplies queries and status writes', () => {
    expect(problems(spec({ analysis: { interval: '1ms' } }))).toEqual([
      'spec.analysis.interval: "1ms" is below the minimum 1s (a check between two Prometheus scrapes sees nothing new); use e.g. 15s',
    ]);
    expect(problems(spec({ analysis: { interval: '999ms' } }))).toHaveLength(1);
    expect(problems(spec({ analysis: { interval: '1s' } }))).toEqual([]);
  });

  it('rejects unknown fields, naming each', () => {
    expect(problems(spec({ stepz: [], analysis: { intervall: '5s' } }))).toEqual([
      'spec.analysis.intervall: is not a known field; remove it or check its spelling',
      'spec.stepz: is not a known field; remove it or check its spelling',
    ]);
  });

  it('reports missing required fields and wrong types', () => {
    expect(problems({ trafficRouting: spec().trafficRouting })).toEqual([
      'spec.targetRef: is required; add it (object)',
    ]);
    expect(problems(spec({ analysis: { minRequests: 'many' } }))).toEqual([
      'spec.analysis.minRequests: "many" is not a number; write a number',
    ]);
    expect(problems(spec({ analysis: { onInconclusive: 'panic' } }))).toEqual([
      'spec.analysis.onInconclusive: "panic" is not allowed; use one of "hold", "rollback"',
    ]);
  });

  it('checks custom metrics: a limit, unique names, known placeholders', () => {
    const found = problems(
      spec({
        analysis: {
          metrics: [
            { name: 'cpu', query: 'x{ns="{{ namespace }}"}' },
            { name: 'cpu', query: 'y{pod="{{ pod }}"}', min: 2, max: 1 },
          ],
        },
      }),
    );
    expect(found).toEqual([
      'spec.analysis.metrics[0]: sets neither min nor max; add at least one limit',
      'spec.analysis.metrics[1].name: "cpu" is used twice; give each metric its own name',
      'spec.analysis.metrics[1].min: 2 is above max 1; swap them',
      'spec.analysis.metrics[1].query: {{ pod }} is not a known placeholder; use {{ namespace }}, {{ canary }}, {{ stable }}, {{ interval }}',
    ]);
  });

  it('returns every problem at once', () => {
    const found = problems(
      spec({
        steps: [{ weight: 50 }, { weight: 10 }],
        analysis: { interval: 'x', prometheus: { address: 'ftp://p' } },
      }),
    );
    expect(found).toHaveLength(3); // schema problems first, then relations between the parts that parse
    expect(found[0]).toContain('spec.analysis.prometheus.address');
    expect(found[1]).toContain('spec.analysis.interval');
    expect(found[2]).toBe(
      "spec.steps[1].weight: 10 is not above the previous step's 50; weights must increase from step to step",
    );
  });

  it('checks apiVersion, kind and name of a whole object', () => {
    const result = validateRollout({ apiVersion: 'v1', kind: 'Rollout', metadata: {}, spec: spec() });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.path)).toEqual(['apiVersion', 'metadata.name']);
  });
});

describe('bounds on hostile input', () => {
  const metric = (query: string) => ({ name: 'm', query, max: 1 });

  it('refuses a custom query longer than 4096 characters, naming the field', () => {
    expect(problems(spec({ analysis: { metrics: [metric('{{' + ' '.repeat(6_000))] } }))).toEqual([
      'spec.analysis.metrics[0].query: is longer than 4096 characters; shorten it',
    ]);
  });

  it('bounds every list and map: metrics, routes, steps, allowed images, headers', () => {
    const many = <T>(n: number, item: (i: number) => T) => Array.from({ length: n }, (_, i) => item(i));
    const istio = spec().trafficRouting.istio;
    expect(
      problems(
        spec({
          trafficRouting: {
            istio: { ...istio, virtualService: { name: 'vs', routes: many(33, (i) => `r${i}`) } },
          },
          analysis: {
            metrics: many(21, (i) => metric(`x${i}`)).map((m, i) => ({ ...m, name: `m${i}` })),
            prometheus: {
              address: 'http://p:9090',
              headers: Object.fromEntries(many(33, (i) => [`h${i}`, 'v'])),
            },
          },
          trigger: { allowedImages: many(33, (i) => `registry.example.com/app${i}`) },
        }),
      ),
    ).toEqual([
      'spec.trafficRouting.istio.virtualService.routes: has more than 32 items; keep at most 32',
      'spec.analysis.prometheus.headers: has more than 32 headers; send at most 32',
      'spec.analysis.metrics: has more than 20 items; keep at most 20',
      'spec.trigger.allowedImages: has more than 32 items; keep at most 32',
    ]);
  });

  it('names a header whose name is too long by its start only', () => {
    const name = 'x'.repeat(300);
    const found = problems(
      spec({ analysis: { prometheus: { address: 'http://p:9090', headers: { [name]: 'v' } } } }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^spec\.analysis\.prometheus\.headers: key "x+… \(302 characters\) is longer than 256/,
    );
  });

  it('refuses header names that are not HTTP tokens and values with line breaks, before any request is sent', () => {
    const prometheus = (headers: Record<string, string>) =>
      spec({ analysis: { prometheus: { address: 'http://p:9090', headers } } });
    expect(problems(prometheus({ 'X Bad': 'v' }))).toEqual([
      'spec.analysis.prometheus.headers: key "X Bad" is not an HTTP header name; use letters, digits and "-"',
    ]);
    expect(problems(prometheus({ 'X-Org': 'a\r\nInjected: yes' }))).toEqual([
      'spec.analysis.prometheus.headers.X-Org: "a\\r\\nInjected: yes" contains a line break or NUL; write the header value on one line',
    ]);
  });

  it('quotes a megabyte-long wrong value by its first characters, so the message fits in status', () => {
    const [found] = problems(spec({ analysis: { onInconclusive: 'y'.repeat(1_000_000) } }));
    expect(found!.length).toBeLessThan(300);
    expect(found).toContain('(1000002 characters)');
  });
});

describe('durations', () => {
  it('parses Go-style durations and formats them back', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('-1s')).toBeUndefined();
    expect(parseDuration('1d')).toBeUndefined();
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('1h');
  });
});
