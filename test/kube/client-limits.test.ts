// The Kubernetes client's own limits: one kept-alive connection pool for all calls, and a token bucket.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClientRateLimiter } from '../../src/kube/client-rate-limit.js';
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
});
