import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPrometheusClient, noValue, type AnalysisLogger } from '../../src/analysis/prometheus.js';

// A tiny stand-in for Prometheus' /api/v1/query that answers canned bodies, one per request.

interface Canned {
  status: number;
  body: unknown;
}
interface Seen {
  url: URL;
  headers: IncomingHttpHeaders;
}

const vector = (...values: string[]) => ({
  status: 200,
  body: {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map((value, i) => ({ metric: { pod: `p${i}` }, value: [1700000000, value] })),
    },
  },
});
const failure = (status: number, errorType: string, error: string): Canned => ({
  status,
  body: { status: 'error', errorType, error },
});

let server: Server;
let address: string;
let answers: Canned[];
let seen: Seen[];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: new URL(req.url ?? '/', 'http://localhost'), headers: req.headers });
    const answer = answers.shift() ?? failure(500, 'internal', 'no canned answer left');
    res.writeHead(answer.status, {
      'content-type': typeof answer.body === 'string' ? 'text/html' : 'application/json',
    });
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  seen = [];
});

const fastRetry = { retries: 2, minTimeoutMs: 5, maxTimeoutMs: 20, maxRetryTimeMs: 2000 };
const at = new Date('2026-01-02T03:04:05.678Z');
const query = (...canned: Canned[]) => {
  answers.push(...canned);
  return createPrometheusClient({ address }, { retry: fastRetry }).query('sum(up)', at);
};

describe('reading one number from Prometheus', () => {
  it('returns the value of a single series, queried at the given time', async () => {
    expect(await query(vector('0.25'))).toBe(0.25);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url.pathname).toBe('/api/v1/query');
    expect(seen[0]!.url.searchParams.get('query')).toBe('sum(up)');
    expect(Number(seen[0]!.url.searchParams.get('time'))).toBe(at.getTime() / 1000);
  });

  it('reads a scalar result', async () => {
    expect(
      await query({
        status: 200,
        body: { status: 'success', data: { resultType: 'scalar', result: [1, '42'] } },
      }),
    ).toBe(42);
  });

  it('treats an empty result as no data', async () => {
    expect(await query(vector())).toEqual(noValue('empty', 'no data (empty result)'));
  });

  it('treats NaN as no data', async () => {
    expect(await query(vector('NaN'))).toEqual(noValue('nan', 'no data (NaN)'));
  });

  it('treats +Inf and -Inf as no data, and says which', async () => {
    expect(await query(vector('+Inf'))).toEqual(noValue('infinite', 'no data (+Inf)'));
    expect(await query(vector('-Inf'))).toEqual(noValue('infinite', 'no data (-Inf)'));
    const scalar = {
      status: 200,
      body: { status: 'success', data: { resultType: 'scalar', result: [1, '+Inf'] } },
    };
    expect(await query(scalar)).toEqual(noValue('infinite', 'no data (+Inf)'));
  });

  it('refuses a result with several series instead of picking one', async () => {
    expect(await query(vector('0.1', '0.9', '0.5'))).toEqual(
      noValue('multiple-series', 'expected one series, got 3 (aggregate the query, e.g. with sum)'),
    );
  });

  it('refuses a range result', async () => {
    const matrix = {
      status: 200,
      body: {
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] },
      },
    };
    expect(await query(matrix)).toEqual(
      noValue('not-a-number', 'expected a single number, got a matrix result'),
    );
  });

  it('treats a non-numeric sample as no value', async () => {
    expect(await query(vector('banana'))).toEqual(noValue('nan', 'no data (NaN)'));
  });
});

describe('Prometheus failures', () => {
  it('retries a 500 and returns the value of the next answer', async () => {
    expect(await query(failure(500, 'internal', 'boom'), vector('7'))).toBe(7);
    expect(seen).toHaveLength(2);
  });

  it('retries 429 and a non-JSON 502 from a proxy in front of Prometheus', async () => {
    expect(
      await query(
        failure(429, 'too_many', 'slow down'),
        { status: 502, body: '<html>bad gateway</html>' },
        vector('3'),
      ),
    ).toBe(3);
    expect(seen).toHaveLength(3);
  });

  it('counts every HTTP query it sends, each retry with the outcome of its attempt', async () => {
    const outcomes: string[] = [];
    answers.push(failure(503, 'unavailable', 'busy'), failure(500, 'internal', 'oops'), vector('4'));
    const client = createPrometheusClient(
      { address },
      { retry: fastRetry, onQuery: (outcome) => outcomes.push(outcome) },
    );
    expect(await client.query('sum(up)', at)).toBe(4);
    expect(seen).toHaveLength(3);
    expect(outcomes).toEqual(['error', 'error', 'ok']);
  });

  it('gives up after the retries with the last error as the reason', async () => {
    const result = await query(
      failure(503, 'unavailable', 'overloaded'),
      failure(503, 'unavailable', 'overloaded'),
      failure(503, 'unavailable', 'overloaded'),
      vector('1'),
    );
    expect(result).toEqual(noValue('error', 'Prometheus error: HTTP 503 unavailable: overloaded'));
    expect(seen).toHaveLength(3);
  });

  it('does not retry a bad query', async () => {
    const result = await query(
      failure(400, 'bad_data', 'parse error at char 5: unexpected "}"'),
      vector('1'),
    );
    expect(result).toEqual(
      noValue('error', 'Prometheus rejected the query (bad_data): parse error at char 5: unexpected "}"'),
    );
    expect(seen).toHaveLength(1);
  });

  it('does not retry an authorization failure', async () => {
    const result = await query({ status: 401, body: 'Unauthorized' }, vector('1'));
    expect(result).toEqual(noValue('error', 'Prometheus error: HTTP 401: Unauthorized'));
    expect(seen).toHaveLength(1);
  });

  it('reports a refused connection as unreachable instead of throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const warnings: string[] = [];
    const logger: AnalysisLogger = {
      debug: () => undefined,
      warn: (_message, meta) => warnings.push(String(meta?.error)),
    };
    const client = createPrometheusClient(
      { address: `http://127.0.0.1:${port}` },
      { retry: fastRetry, logger },
    );
    const result = await client.query('sum(up)', at);
    expect(result).toEqual(
      noValue('unreachable', `Prometheus unreachable: connect ECONNREFUSED 127.0.0.1:${port}`),
    );
    expect(warnings).toEqual([`Prometheus unreachable: connect ECONNREFUSED 127.0.0.1:${port}`]);
  });
});

describe('authentication', () => {
  it('sends the target headers on every request, retries included', async () => {
    answers.push(failure(500, 'internal', 'boom'), vector('1'));
    const client = createPrometheusClient(
      { address, headers: { Authorization: 'Bearer s3cret', 'X-Scope-OrgID': 'team-a' } },
      { retry: fastRetry },
    );
    expect(await client.query('sum(up)', at)).toBe(1);
    expect(seen).toHaveLength(2);
    for (const request of seen) {
      expect(request.headers.authorization).toBe('Bearer s3cret');
      expect(request.headers['x-scope-orgid']).toBe('team-a');
    }
  });
});

describe('hostile or foreign answers', () => {
  const wideVector = (series: number, labelChars: number) => ({
    status: 200,
    body: {
      status: 'success',
      data: {
        resultType: 'vector',
        result: Array.from({ length: series }, (_, i) => ({
          metric: { pod: `p${i}`, filler: 'x'.repeat(labelChars) },
          value: [1700000000, '1'],
        })),
      },
    },
  });
  const client = (options: Parameters<typeof createPrometheusClient>[1] = {}) =>
    createPrometheusClient({ address }, { retry: fastRetry, ...options });

  it('refuses an answer above 1 MiB while reading it, and does not ask again', async () => {
    answers.push({ status: 200, body: wideVector(1, 2 * 1024 * 1024).body }, vector('1'));
    expect(await client().query('sum(up)', at)).toEqual(
      noValue(
        'error',
        'Prometheus answered more than 1 MiB; aggregate the query (e.g. with sum) so that it returns one series',
      ),
    );
    expect(seen).toHaveLength(1);
  });

  it('says what came instead of a query result, never a JavaScript TypeError', async () => {
    const cases: [Canned, RegExp][] = [
      [
        { status: 200, body: { status: 'success' } },
        /^Prometheus answered HTTP 200 with no data\.resultType instead/,
      ],
      [
        { status: 200, body: '<html>login</html>' },
        /^Prometheus answered HTTP 200 with a body that is not JSON instead/,
      ],
      [
        {
          status: 200,
          body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {} }] } },
        },
        /with a malformed sample instead of a query result; check that the address is the Prometheus base URL/,
      ],
      [
        { status: 200, body: { status: 'success', data: { resultType: 'table', result: [] } } },
        /unknown result type "table"/,
      ],
    ];
    for (const [answer, reason] of cases) {
      answers.push(answer);
      const result = await client().query('sum(up)', at);
      expect(result).toMatchObject({ kind: 'error', reason: expect.stringMatching(reason) as unknown });
      expect((result as { reason: string }).reason).not.toMatch(/Cannot read|undefined/);
    }
  });

  it('cuts a long error text from the server to a length that fits in status', async () => {
    answers.push({ status: 200, body: { status: 'error', error: 'e'.repeat(100_000) } });
    const result = (await client().query('sum(up)', at)) as { reason: string };
    expect(result.reason).toMatch(/^Prometheus answered HTTP 200 with an error: e+…$/);
    expect(result.reason.length).toBeLessThan(300);
  });

  it('keeps at most 500 series, and long label sets only as a short digest', async () => {
    answers.push(wideVector(501, 1));
    expect(await client().querySeries('up', at)).toMatchObject({
      kind: 'error',
      reason: expect.stringContaining('501 series') as unknown,
    });
    answers.push(wideVector(3, 10_000));
    const values = await client().querySeries('up', at);
    const keys = Object.keys(values);
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).toMatch(/^sha256:[0-9a-f]{32}$/);
    answers.push(wideVector(3, 10_000));
    expect(Object.keys(await client().querySeries('up', at))).toEqual(keys);
  });

  it('gives up at once when its signal aborts, saying why, with no retry after it', async () => {
    let requests = 0;
    const hanging = createServer(() => {
      requests += 1;
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      // Waiting for the request's own 60 s timeout instead would exceed the test's timeout.
      const signal = AbortSignal.timeout(100);
      const result = await createPrometheusClient(
        { address: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}` },
        { retry: fastRetry, timeoutMs: 60_000, signal },
      ).query('sum(up)', at);
      expect(result).toMatchObject({ kind: 'unreachable' });
      expect(requests).toBe(1);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});
