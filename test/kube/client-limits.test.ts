// The Kubernetes client's own limits: one kept-alive connection pool for all calls, and a token bucket.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkClientRateLimit, ClientRateLimiter } from '../../src/kube/client-rate-limit.js';
import { inRequestLane } from '../../src/kube/request-lane.js';
import { Cluster } from '../../src/kube/cluster.js';

describe('calls to the Kubernetes API', () => {
  let server: Server;
  let connections = 0;
  let kubeConfig: KubeConfig;
  beforeAll(async () => {
    // A minimal API server on 127.0.0.1: answers every GET with a Deployment, and counts TCP connections.
    server = createServer((req, res) => {
      const name = req.url?.split('/').at(-1) ?? 'x';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name } }));
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterEach(() => vi.useRealTimers());
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reuses kept-alive connections for 30 consecutive calls instead of opening one per call', async () => {
    const cluster = new Cluster(kubeConfig);
    connections = 0;
    for (let i = 0; i < 30; i++) {
      expect((await cluster.getDeployment('shop', `cart-${i}`))?.metadata?.name).toBe(`cart-${i}`);
    }
    // undici may open a second socket while the first one's answer is still being read; then both are reused.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('lets a burst through at once and then one request per 1/qps', async () => {
    vi.useFakeTimers();
    const limiter = new ClientRateLimiter(10, 3);
    let done = 0;
    for (let i = 0; i < 5; i++) void limiter.wait().then(() => (done += 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toBe(4);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toBe(5);
  });

  it("gives an abort's request the next token ahead of routine requests that drained the bucket first", async () => {
    vi.useFakeTimers();
    const limiter = new ClientRateLimiter(10, 2);
    const order: string[] = [];
    const send = (lane: number, name: string) =>
      inRequestLane(lane, () => limiter.wait()).then(() => order.push(name));
    // Routine re-checks (lane 3) take the burst and queue 20 more; then an abort's pass (lane 0) asks.
    for (let i = 0; i < 22; i++) void send(3, `routine-${i}`);
    await vi.advanceTimersByTimeAsync(0);
    void send(0, 'abort');
    void send(1, 'promote');
    await vi.advanceTimersByTimeAsync(100);
    expect(order).toEqual(['routine-0', 'routine-1', 'abort']);
    await vi.advanceTimersByTimeAsync(200);
    expect(order.slice(3)).toEqual(['promote', 'routine-2']);
  });

  it('keeps arrival order within one lane while requests wait', async () => {
    vi.useFakeTimers();
    const limiter = new ClientRateLimiter(10, 1);
    const order: number[] = [];
    for (let i = 0; i < 6; i++) void limiter.wait(2).then(() => order.push(i));
    await vi.advanceTimersByTimeAsync(500);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses a rate limit that lets nothing through, naming the flag and what it takes', () => {
    expect(() => checkClientRateLimit({ qps: 0, burst: 80 })).toThrow(
      '--kube-api-qps must be a number above 0 (requests per second), got 0',
    );
    expect(() => checkClientRateLimit({ qps: 40, burst: Number('many') })).toThrow(
      '--kube-api-burst must be a whole number of at least 1, got NaN',
    );
    expect(checkClientRateLimit({ qps: 2.5, burst: 1 })).toEqual({ qps: 2.5, burst: 1 });
  });
});
