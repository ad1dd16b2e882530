// `stepwise dashboard`: a loopback web page over the user's own kubeconfig. The server polls the Rollouts once
// a second (one list, whatever the number of open pages), and the page polls the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommandName } from '../api/status.js';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { sendCommand } from '../cli/send-command.js';
import { CheckRecorder } from './check-recorder.js';
import { newToken, refuseCommand, refuseHost, type GuardSettings } from './request-guard.js';
import { RolloutViews } from './rollout-view.js';
import { PAGE_ASSETS, readPageAsset } from './page-assets.js';
import { addStableValues } from './stable-of-check.js';

export interface DashboardOptions {
  cluster: Cluster;
  /** Namespace to show; undefined = all namespaces. */
  namespace?: string;
  host: string;
  port: number;
  pollMs?: number;
  commandTimeoutMs?: number;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

// The page may load only its own scripts and styles and talk only to this server; nothing inline, no frames.
// uPlot sizes its elements through the CSSOM (element.style), which style-src does not govern.
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

// `/assets/<name>` for every file of the page but the page itself.
const ASSETS = new Map(
  Object.entries(PAGE_ASSETS)
    .filter(([name]) => name !== 'index.html')
    .map(([name, asset]) => [`/assets/${name}`, { name, type: asset.type }]),
);

const COMMANDS: Record<string, CommandName> = { promote: 'promote', abort: 'abort', retry: 'retry' };

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { ...SECURITY_HEADERS, 'Content-Type': `${type}; charset=utf-8` });
  res.end(body);
}
const sendJson = (res: ServerResponse, code: number, value: unknown) =>
  send(res, code, 'application/json', JSON.stringify(value));

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const recorder = new CheckRecorder();
  const views = new RolloutViews(options.cluster, recorder);
  const page = readPageAsset('index.html'); // before anything starts: a missing file fails at once
  const token = newToken();
  let rollouts: RolloutObject[] = [];
  let listError: string | undefined;
  const guard: GuardSettings = { host: '', token };

  const poll = async () => {
    try {
      rollouts = (await options.cluster.listRollouts(options.namespace)).items;
      listError = undefined;
      // Not awaited: a slow Prometheus must not hold the page's updates.
      for (const seen of recorder.observe(rollouts)) void addStableValues(seen.rollout, seen.check);
    } catch (error) {
      listError = `cannot list Rollouts: ${error instanceof Error ? error.message : String(error)}`;
    }
  };
  await poll();
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void poll().finally(() => (polling = false));
  }, options.pollMs ?? 1000);

  const find = (namespace: string, name: string) =>
    rollouts.find((r) => r.metadata.namespace === namespace && r.metadata.name === name);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const hostProblem = refuseHost(req.headers, guard);
    if (hostProblem) return sendJson(res, 421, { error: hostProblem });
    const path = new URL(req.url ?? '/', `http://${guard.host}`).pathname;
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);

    if (req.method === 'GET' && (path === '/' || parts[0] === 'rollouts')) {
      // The token is hex: nothing in it needs escaping in an attribute.
      return send(res, 200, 'text/html', page.replace('{{token}}', token));
    }
    const asset = req.method === 'GET' ? ASSETS.get(path) : undefined;
    if (asset) return send(res, 200, asset.type, readPageAsset(asset.name));
    if (req.method === 'GET' && path === '/api/rollouts') {
      const items = await Promise.all(rollouts.map((r) => views.summary(r)));
      return sendJson(res, 200, { items, error: listError, namespace: options.namespace ?? null });
    }
    if (parts[0] === 'api' && parts[1] === 'rollouts' && parts.length >= 4) {
      const [, , namespace = '', name = '', action] = parts;
      const rollout = find(namespace, name);
      if (req.method === 'GET' && !action) {
        if (!rollout) return sendJson(res, 404, { error: `Rollout ${namespace}/${name} not found` });
        return sendJson(res, 200, await views.detail(rollout));
      }
      if (req.method === 'POST' && action && COMMANDS[action]) {
        const refused = refuseCommand(req.headers, guard);
        if (refused) return sendJson(res, 403, { error: refused });
        const record = await sendCommand(options.cluster, namespace, name, COMMANDS[action], {
          timeoutMs: options.commandTimeoutMs ?? 30_000,
        });
        await poll();
        return sendJson(res, 200, record);
      }
    }
    sendJson(res, 404, { error: `no such page: ${req.method} ${path}` });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 502, { error: error instanceof Error ? error.message : String(error) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  guard.host = `${options.host}:${port}`;
  return {
    url: `http://${guard.host}/`,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
