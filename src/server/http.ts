import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ServerOptions {
  host: string;
  port: number;
  registry: Registry;
  ready: () => boolean;
  /** Said by /readyz when not ready. */
  notReadyReason?: () => string | undefined;
  /** Extra handlers by exact path (the trigger webhook). */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

/** /healthz (process alive), /readyz (every watch had a good first list), /metrics (Prometheus text format). */
export async function startHttpServer(options: ServerOptions): Promise<{ server: Server; url: string }> {
  // Slow clients are cut off in seconds, not Node's 60 s for headers and 300 s per request (checked every 30 s).
  const timeouts = { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 };
  const server = createServer(timeouts, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = options.ready();
      const why = ok ? undefined : options.notReadyReason?.();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? 'ready\n' : `not ready${why ? `: ${why}` : ''}\n`);
    } else if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text))
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
    } else if (path && options.routes?.[path]) {
      options.routes[path](req, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return { server, url: `http://${address}:${port}` };
}
