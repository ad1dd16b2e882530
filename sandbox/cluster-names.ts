// In a cluster, a Rollout names Prometheus by its Service, e.g. http://prometheus.istio-system:9090 (the examples under
// rollouts/ do). The sandbox has no cluster DNS, so it runs a small HTTP proxy on 127.0.0.1 that forwards requests
// for those names to the local servers; the controller reaches it through HTTP_PROXY, which the Prometheus client
// (axios) honours. Requests for any other host are refused with 502 and the names it knows.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ClusterNames {
  /** `http://127.0.0.1:PORT`: give it to a process as HTTP_PROXY (with NO_PROXY=127.0.0.1,localhost). */
  proxyUrl: string;
  /** `host:port` names served, each with the URL it forwards to. */
  names: Record<string, string>;
  /** HTTP_PROXY / NO_PROXY for a child process that should resolve these names. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

/** The names a Service `<name>.<namespace>` has in a cluster, with its port: short, `.svc`, `.svc.cluster.local`. */
export function serviceNames(service: string, namespace: string, port: number): string[] {
  return ['', '.svc', '.svc.cluster.local'].map((suffix) => `${service}.${namespace}${suffix}:${port}`);
}

/** Serves `names` (`host:port` → target base URL such as http://127.0.0.1:41234) on a proxy at 127.0.0.1. */
export async function startClusterNames(names: Record<string, string>): Promise<ClusterNames> {
  const server = createServer((req, res) => forward(names, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    proxyUrl,
    names,
    env: () => ({
      HTTP_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(names: Record<string, string>, req: IncomingMessage, res: ServerResponse): void {
  // A proxied request carries the absolute URL: `GET http://prometheus.istio-system:9090/api/v1/query?... HTTP/1.1`.
  let url: URL;
  try {
    url = new URL(req.url ?? '');
  } catch {
    res.writeHead(400).end('the sandbox proxy takes absolute http:// URLs only\n');
    return;
  }
  const target = names[`${url.hostname}:${url.port || 80}`];
  if (url.protocol !== 'http:' || !target) {
    res
      .writeHead(502, { 'content-type': 'text/plain' })
      .end(`${url.host} is not a name of the sandbox; it serves ${Object.keys(names).join(', ')}\n`);
    return;
  }
  const upstream = new URL(`${url.pathname}${url.search}`, target);
  const { 'proxy-connection': _hop, ...passed } = req.headers as Record<
    string,
    string | string[] | undefined
  >;
  const headers = { ...passed, host: upstream.host };
  const outgoing = request(upstream, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  outgoing.once('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`${url.host}: ${error.message}\n`);
  });
  req.pipe(outgoing);
}
