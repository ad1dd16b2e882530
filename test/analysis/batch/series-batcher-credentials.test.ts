// A bearer token sent to Prometheus lives only as long as the checks that sent it: the batcher's memo of recent
// shapes is keyed by a digest of the credentials. A fake Prometheus answers; what is tested is what stays in the
// controller's heap after the reads, found in a heap snapshot (V8 collects garbage before it writes one).
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeriesBatcher } from '../../../src/analysis/batch/series-batcher.js';
import { workloadRead } from '../../../src/analysis/batch/workload-read.js';

describe('the series batcher and credentials', () => {
  let server: Server;
  let address: string;
  let authorized = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.headers.authorization?.startsWith('Bearer ')) authorized += 1;
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('keeps no header value once its reads are answered', { timeout: 60_000 }, async () => {
    // The token exists as a string only inside `readWith`, and again after the snapshot to look for it.
    const secret = randomBytes(24);
    const batcher = createSeriesBatcher({ rememberMs: 60_000 });
    const readWith = async (workload: string) => {
      const target = { address, headers: { Authorization: `Bearer ${secret.toString('hex')}` } };
      const read = workloadRead(
        (w) => `sum by () (requests_total{destination_workload="${w}"})`,
        workload,
        'destination_workload',
        'sum by ()',
      );
      await batcher.readValue(target, new Date(Date.parse('2026-12-01T00:00:00Z')), read);
    };
    await Promise.all(['a', 'b', 'c'].map(readWith));
    expect(authorized).toBeGreaterThan(0);
    // Let the client's sockets and timers settle before the snapshot.
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 200));

    const file = join(tmpdir(), `stepwise-credentials-${process.pid}.heapsnapshot`);
    try {
      writeHeapSnapshot(file);
      const heap = await readFile(file, 'utf8');
      expect(heap.length).toBeGreaterThan(1_000_000);
      expect(heap.includes(secret.toString('hex'))).toBe(false);
    } finally {
      await rm(file, { force: true });
    }
  });
});
