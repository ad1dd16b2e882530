// `stepwise dashboard`: a loopback web page over the user's own kubeconfig, or the controller's in-cluster one
// where each caller's bearer token and RBAC decide (access.ts). The server polls the Rollouts once a second
// (one list, whatever the number of open pages), and the page polls the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GROUP } from '../api/schema.js';
import type { CommandName } from '../api/status.js';
import type { Cluster, RolloutObject } from '../kube/cluster.js';
import { sendCommand } from '../cli/send-command.js';
import { CheckRecorder } from './check-recorder.js';
import { loopbackAccess, type Caller, type DashboardAccess } from './access.js';
import { newToken, refuseCommand, type GuardSettings } from './request-guard.js';
import { RolloutViews } from './rollout-view.js';
import { PAGE_ASSETS, readPageAsset } from './page-assets.js';
import { addStableValues } from './stable-of-check.js';

export interface DashboardOptions {
  cluster: Cluster;
  /** Namespaces to show; undefined = all namespaces. */
  namespaces?: string[];
  host: string;
  port: number;
  pollMs?: number;
  commandTimeoutMs?: number;
  /**
   * Who may see and do what; by default the kubeconfig's user on loopback (Host checked against DNS
   * rebinding). In-cluster: tokenReviewAccess, and no Host check.
   */
  access?: DashboardAccess;
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
  const guard: GuardSettings = { host: options.access ? undefined : '', token };
  const access = options.access ?? loopbackAccess(guard);
  const { namespaces } = options;
  const scope = namespaces?.join(', ');

  const poll = async () => {
    try {
      rollouts = namespaces
        ? (await Promise.all(namespaces.map((ns) => options.cluster.listRollouts(ns)))).flatMap(
            (l) => l.items,
          )
        : (await options.cluster.listRollouts(undefined)).items;
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

  /** The Rollouts the caller may list: all, or those of the namespaces they may list in; undefined if none. */
  async function visibleTo(caller: Caller): Promise<RolloutObject[] | undefined> {
    const only = namespaces?.length === 1 ? namespaces[0] : undefined;
    if (await access.allowed(caller, 'list', only)) return rollouts;
    if (only !== undefined) return undefined;
    const candidates = namespaces ?? [...new Set(rollouts.map((r) => r.metadata.namespace))];
    const allowed = await Promise.all(candidates.map((ns) => access.allowed(caller, 'list', ns)));
    const visible = new Set(candidates.filter((_, i) => allowed[i]));
    return visible.size ? rollouts.filter((r) => visible.has(r.metadata.namespace)) : undefined;
  }

  const forbidden = (res: ServerResponse, caller: Caller, what: string) =>
    sendJson(res, 403, {
      error: `${caller.username} may not ${what} (RBAC on rollouts.${GROUP}); ask for a Role that grants it`,
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authentication = await access.authenticate(req.headers);
    if ('refused' in authentication) {
      const { code, message, headers } = authentication.refused;
      res.writeHead(code, {
        ...SECURITY_HEADERS,
        ...headers,
        'Content-Type': 'application/json; charset=utf-8',
      });
      return void res.end(JSON.stringify({ error: message }));
    }
    const { caller } = authentication;
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);

    if (req.method === 'GET' && (path === '/' || parts[0] === 'rollouts')) {
      // The token is hex: nothing in it needs escaping in an attribute.
      return send(res, 200, 'text/html', page.replace('{{token}}', token));
    }
    const asset = req.method === 'GET' ? ASSETS.get(path) : undefined;
    if (asset) return send(res, 200, asset.type, readPageAsset(asset.name));
    if (req.method === 'GET' && path === '/api/rollouts') {
      const visible = await visibleTo(caller);
      if (!visible) return forbidden(res, caller, `list Rollouts in ${scope ?? 'any namespace'}`);
      const items = await Promise.all(visible.map((r) => views.summary(r)));
      return sendJson(res, 200, { items, error: listError, namespace: scope ?? null });
    }
    if (parts[0] === 'api' && parts[1] === 'rollouts' && parts.length >= 4) {
      const [, , namespace = '', name = '', action] = parts;
      const rollout = find(namespace, name);
      if (req.method === 'GET' && !action) {
        if (!(await access.allowed(caller, 'get', namespace, name)))
          return forbidden(res, caller, `get Rollout ${namespace}/${name}`);
        if (!rollout) return sendJson(res, 404, { error: `Rollout ${namespace}/${name} not found` });
        return sendJson(res, 200, await views.detail(rollout));
      }
      if (req.method === 'POST' && action && COMMANDS[action]) {
        const refused = refuseCommand(req.headers, guard);
        if (refused) return sendJson(res, 403, { error: refused });
        if (!(await access.allowed(caller, 'patch', namespace, name)))
          return forbidden(res, caller, `patch Rollout ${namespace}/${name} (${action})`);
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
  const address = `${options.host}:${port}`;
  if (!options.access) guard.host = address;
  return {
    url: `http://${address}/`,
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
