import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MeshConfig, MeshConfigSource } from './config.js';
import type { MirrorStat } from './mirror.js';
import {
  MeshTraffic,
  type RequestStat,
  type TrafficOptions,
  type UserRequests,
  type WeightRecord,
} from './traffic.js';

export interface MeshOptions extends TrafficOptions {
  source: MeshConfigSource;
  /** How often traffic is sent, in ms. Default 100. */
  tickMs?: number;
  /** Port of the /metrics server on 127.0.0.1. Default 0 (a free port). */
  port?: number;
}

export interface Mesh {
  /** Base URL of the mesh's HTTP server: `http://127.0.0.1:PORT` (metrics under `/metrics`). */
  url: string;
  /** `http://127.0.0.1:PORT/metrics` */
  metricsUrl: string;
  /** `127.0.0.1:PORT`, for a Prometheus scrape config. */
  target: string;
  /** Each set of weights a route was used with, in order, with the time the mesh first routed by it. */
  weightHistory(): WeightRecord[];
  /** Users' request counts per route, subset, workload, response code and whether the extra headers were sent. */
  stats(): RequestStat[];
  /** What callers saw so far: their requests and the failed ones; mirrored copies never count here. */
  userRequests(): UserRequests;
  /** Copies the mirror policies sent, per route, serving workload and response code (their answers are dropped). */
  mirrorStats(): MirrorStat[];
  /** Sends exactly `requests` requests to each VirtualService now, with the source's current config. */
  send(requests: number): Promise<void>;
  /** The last error of the config source, if its latest read failed (the mesh keeps routing by the last good config). */
  configError(): Error | undefined;
  close(): Promise<void>;
}

/**
 * Starts a simulated Istio mesh: every tick it reads the routing config, sends a Poisson number of requests
 * through each VirtualService as the client's Envoy would, and serves Istio's metrics for Prometheus.
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const tickMs = options.tickMs ?? 100;
  if (!(tickMs > 0)) throw new Error(`tickMs must be > 0 (got ${options.tickMs}); e.g. tickMs: 100`);
  const traffic = new MeshTraffic(options);
  const source = options.source;

  // The first read fails loudly: a wrong kubeconfig or namespace should not look like an idle mesh.
  let config: MeshConfig = await source.snapshot();
  let configError: Error | undefined;
  const refresh = async (): Promise<MeshConfig> => {
    try {
      config = await source.snapshot();
      configError = undefined;
    } catch (error) {
      // Like Envoy when istiod is unreachable: keep serving the last config.
      configError = error instanceof Error ? error : new Error(String(error));
    }
    return config;
  };

  const server = await listen(options.port ?? 0, async (path) =>
    path === '/metrics'
      ? { type: traffic.metrics.registry.contentType, body: await traffic.metrics.exposition() }
      : undefined,
  );
  const port = (server.address() as AddressInfo).port;

  let closed = false;
  let lastTickAt = Date.now();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const current = await refresh();
    if (closed) return;
    const now = Date.now();
    // The elapsed time, not tickMs, keeps the rate right when timers run late; a long stall is not replayed as a burst.
    const elapsedMs = Math.min(now - lastTickAt, 10 * tickMs);
    lastTickAt = now;
    traffic.advance(current, elapsedMs, new Date(now));
  };
  const schedule = () => {
    timer = setTimeout(() => {
      running = tick().finally(() => {
        if (!closed) schedule();
      });
    }, tickMs);
    timer.unref();
  };
  schedule();

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    metricsUrl: `${url}/metrics`,
    target: `127.0.0.1:${port}`,
    weightHistory: () => traffic.weightHistory(),
    stats: () => traffic.stats(),
    userRequests: () => traffic.userRequests(),
    mirrorStats: () => traffic.mirrorStats(),
    async send(requests) {
      traffic.send(await refresh(), requests);
    },
    configError: () => configError,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      // A config read stuck on an unreachable API server must not hold up shutdown.
      await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

type Responder = (path: string) => Promise<{ type: string; body: string } | undefined>;

function listen(port: number, respond: Responder): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://mesh').pathname;
    respond(path).then(
      (answer) => {
        if (!answer) {
          response
            .writeHead(404, { 'content-type': 'text/plain' })
            .end('not found; metrics are at /metrics\n');
          return;
        }
        response.writeHead(200, { 'content-type': answer.type }).end(answer.body);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
