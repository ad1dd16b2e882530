// The trigger webhook over real HTTP on 127.0.0.1, in front of the sandbox API server and the real client.
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { Cluster } from '../../src/kube/cluster.js';
import { startHttpServer } from '../../src/server/http.js';
import { signRequest } from '../../src/server/webhook-auth.js';
import { createTriggerWebhook, TRIGGER_PATH, type WebhookOptions } from '../../src/server/webhook.js';
import { secretCredentials } from '../../src/server/webhook-auth.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { deployment, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

export const NS = 'default';
export const TOKEN = 'ci-token-0123456789';
export const HMAC_KEY = 'hmac-key-abcdef';
export const IMAGE = 'reg.io/shop/app';
export const bearer = { authorization: `Bearer ${TOKEN}` };

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts', namespace: NS };

export function rollout(name: string, target: string, allowedImages?: string[]) {
  return {
    apiVersion: 'stepwise.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: NS },
    spec: {
      targetRef: { kind: 'Deployment', name: target },
      trafficRouting: { istio: { virtualService: { name: target }, destinationRule: { name: target } } },
      ...(allowedImages ? { trigger: { allowedImages } } : {}),
    },
  };
}

/** A sandbox holding the webhook Secret (the token with a trailing newline, as `--from-file` leaves it). */
export async function startWebhookSandbox(): Promise<Sandbox> {
  const sandbox = await startSandbox();
  await sandbox.core.createNamespacedSecret({
    namespace: NS,
    body: {
      metadata: { name: 'stepwise-webhook' },
      data: {
        token: Buffer.from(`${TOKEN}\n`).toString('base64'),
        hmacKey: Buffer.from(HMAC_KEY).toString('base64'),
      },
    },
  });
  return sandbox;
}

/** Deployment `name` at `${IMAGE}:1.0.0` (plus containers) and its Rollout, replacing any earlier ones. */
export async function resetApp(
  sandbox: Sandbox,
  name: string,
  options: { sidecar?: boolean; allowedImages?: string[]; namespace?: string; container?: string } = {},
): Promise<void> {
  const namespace = options.namespace ?? NS;
  await sandbox.apps.deleteNamespacedDeployment({ namespace, name }).catch(() => undefined);
  await sandbox.custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace, name }).catch(() => undefined);
  const body = deployment(name, `${IMAGE}:1.0.0`);
  const containers = body.spec!.template.spec!.containers;
  containers[0]!.name = options.container ?? 'app';
  if (options.sidecar) containers.push({ name: 'sidecar', image: 'reg.io/proxy:1' });
  await sandbox.apps.createNamespacedDeployment({ namespace, body });
  const object = rollout(name, name, options.allowedImages);
  object.metadata.namespace = namespace;
  await sandbox.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: object });
}

export const imageOf = async (sandbox: Pick<Sandbox, 'apps'>, name = 'app', container = 0, namespace = NS) =>
  (await sandbox.apps.readNamespacedDeployment({ namespace, name })).spec!.template.spec!.containers[
    container
  ]!.image;

export interface ServedWebhook {
  url: string;
  /** Every log entry, as JSON. */
  logged: string[];
  post: (body: string, headers?: Record<string, string>) => Promise<Response>;
  /** Headers that sign `body` now (or at `timestamp`). */
  signed: (body: string, timestamp?: number) => Record<string, string>;
  close: () => void;
}

/** The webhook of one controller replica, calling the API server of `sandbox` (any with its kubeconfig). */
export async function serveWebhook(
  sandbox: Pick<Sandbox, 'kc'>,
  options: Partial<Omit<WebhookOptions, 'cluster' | 'credentials' | 'logger'>> = {},
  /** Where the webhook Secret is: the chart keeps it in the release namespace. */
  secretNamespace = NS,
): Promise<ServedWebhook> {
  const logged: string[] = [];
  const logger = createLogger({ level: 'debug' });
  logger.transports.forEach((t) => (t.silent = true));
  logger.on('data', (entry) => logged.push(JSON.stringify(entry)));
  const cluster = new Cluster(sandbox.kc);
  const { server, url } = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    registry: new Registry(),
    ready: () => true,
    routes: {
      [TRIGGER_PATH]: createTriggerWebhook({
        ...options,
        cluster,
        credentials: secretCredentials(cluster, secretNamespace, 'stepwise-webhook'),
        logger,
      }),
    },
  });
  return {
    url,
    logged,
    post: (body, headers = {}) =>
      fetch(`${url}${TRIGGER_PATH}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      }),
    signed: (body, timestamp = Math.floor(Date.now() / 1000)) => ({
      'x-stepwise-timestamp': String(timestamp),
      'x-stepwise-signature': signRequest(HMAC_KEY, timestamp, body),
    }),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * CI releases 1.1.0 through `first` and then 1.2.0 through `second` (the Service picks a replica per call); the
 * captured 1.1.0 request is then replayed to `target`. Answers the two releases' statuses and the replay.
 */
export async function replayAfterCiMovedOn(
  first: ServedWebhook,
  second: ServedWebhook,
  target: ServedWebhook,
): Promise<{ released: number[]; replayed: Response; captured: Record<string, string> }> {
  const trigger = (image: string) => JSON.stringify({ namespace: NS, rollout: 'app', image });
  const older = trigger(`${IMAGE}:1.1.0`);
  const captured = first.signed(older);
  const released = [(await first.post(older, captured)).status];
  const newer = trigger(`${IMAGE}:1.2.0`);
  released.push((await second.post(newer, second.signed(newer))).status);
  return { released, replayed: await target.post(older, captured), captured };
}

/** A raw connection that sends the headers and `sent` of a `length`-byte body, then waits. */
export function partialRequest(
  url: string,
  headers: Record<string, string>,
  length: number,
  sent: string,
): { socket: Socket; answer: (withinMs: number) => Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  let closed = false;
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  const lines = Object.entries({ host: `${hostname}:${port}`, 'content-length': String(length), ...headers });
  socket.write(
    `POST ${TRIGGER_PATH} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${sent}`,
  );
  /** What the server answered by the time it closed the connection, or `withinMs` passed. */
  const answer = (withinMs: number) =>
    new Promise<string>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(received);
      };
      const timer = setTimeout(done, withinMs);
      if (closed) done();
      else socket.once('close', done);
    });
  return { socket, answer };
}
