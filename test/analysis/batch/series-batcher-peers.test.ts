// The workloads read under a shape within rememberMs ride along with later reads of it (a namespace's Rollouts are
// checked a few at a time), and those not read for longer are left out. A fake Prometheus that records the queries:
// what is tested is which workloads each query names.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSeriesBatcher } from '../../../src/analysis/batch/series-batcher.js';
import { workloadRead } from '../../../src/analysis/batch/workload-read.js';

const read = (workload: string) =>
  workloadRead(
    (w) => `sum by () (rate(requests_total{destination_workload="${w}"}[1m]))`,
    workload,
    'destination_workload',
    'sum by ()',
  );

describe('the series batcher', () => {
  let server: Server;
  let address: string;
  const queries: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const params = new URLSearchParams(request.url?.split('?')[1] ?? body);
        if (body) for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
        queries.push(params.get('query') ?? '');
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    vi.useRealTimers();
    server.closeAllConnections();
    server.close();
  });

  /** The workloads the last query named, from its `=~"a|b"` matcher. */
  const named = () => /=~"([^"]*)"/.exec(queries.at(-1)!)![1]!.split('|').sort();

  it('asks along the workloads read under the shape in the last minute, and no longer those read before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.parse('2026-12-01T00:00:00Z');
    vi.setSystemTime(start);
    const batcher = createSeriesBatcher({ rememberMs: 60_000 });
    const target = { address };
    const at = (s: number) => new Date(start + s * 1000);
    await Promise.all(['a', 'b'].map((w) => batcher.readValue(target, at(0), read(w))));
    expect(named()).toEqual(['a', 'b']);

    vi.setSystemTime(start + 30_000);
    await batcher.readValue(target, at(30), read('a'));
    expect(named()).toEqual(['a', 'b']); // b was read 30 s ago: asked along
    vi.setSystemTime(start + 61_000);
    await batcher.readValue(target, at(61), read('a'));
    expect(named()).toEqual(['a']); // b not read for 61 s; a was, 31 s ago
    expect(queries).toHaveLength(3);
  });
});
