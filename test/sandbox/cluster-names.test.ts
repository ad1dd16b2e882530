import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceNames, startClusterNames, type ClusterNames } from '../../sandbox/cluster-names.js';

/** A request through an HTTP proxy, as axios sends it with HTTP_PROXY set: the absolute URL as the path. */
function viaProxy(proxyUrl: string, url: string): Promise<{ status: number; body: string }> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

describe('in-cluster names of the sandbox', () => {
  let target: Server;
  let names: ClusterNames;

  beforeAll(async () => {
    target = createServer((req, res) => res.end(`served ${req.url} for ${req.headers.host}`));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    names = await startClusterNames(
      Object.fromEntries(serviceNames('prometheus', 'istio-system', 9090).map((name) => [name, url])),
    );
  });
  afterAll(async () => {
    await names?.close();
    await new Promise((resolve) => target?.close(resolve));
  });

  it('knows a Service by its short, .svc and .svc.cluster.local names', () => {
    expect(Object.keys(names.names)).toEqual([
      'prometheus.istio-system:9090',
      'prometheus.istio-system.svc:9090',
      'prometheus.istio-system.svc.cluster.local:9090',
    ]);
  });

  it('forwards a request for a known name to its server, path and query kept', async () => {
    const answer = await viaProxy(
      names.proxyUrl,
      'http://prometheus.istio-system.svc:9090/api/v1/query?query=up',
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^served \/api\/v1\/query\?query=up for 127\.0\.0\.1:\d+$/);
  });

  it('refuses any other host with 502, naming the names it serves', async () => {
    const answer = await viaProxy(names.proxyUrl, 'http://prometheus.monitoring:9090/api/v1/query');
    expect(answer.status).toBe(502);
    expect(answer.body).toContain('prometheus.monitoring:9090 is not a name of the sandbox');
    expect(answer.body).toContain('prometheus.istio-system:9090');
  });
});
