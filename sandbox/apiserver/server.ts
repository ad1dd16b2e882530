import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeploymentController } from './deployment-controller.js';
import type { SandboxPod } from './deployment-controller.js';
import { Faults } from './faults.js';
import { createRequestHandler } from './handlers.js';
import { sandboxKubeconfig } from './kubeconfig.js';
import { RESOURCE_TYPES, ResourceRegistry, withServedVersions } from './resources.js';
import { ObjectStore } from './store.js';
import { WatchHub } from './watch.js';

export interface ApiServerOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Milliseconds until a new pod becomes ready, when `readyDelayFor` is not given (default 500). */
  podReadyDelayMs?: number;
  /** Milliseconds until pods running `image` become ready; `Infinity` = never ready. */
  readyDelayFor?: (image: string) => number;
  /** How many change events are kept for watch resume; older resourceVersions get 410 Gone (default 1000). */
  watchHistory?: number;
  /** Served versions per API group, replacing the defaults (e.g. an Istio that serves no v1 yet). */
  servedVersions?: Record<string, string[]>;
}

export interface ApiServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A kubeconfig YAML whose single context "sandbox" points at this server, namespace default. */
  kubeconfig(): string;
  writeKubeconfig(path: string): Promise<void>;
  /** Direct in-process access to the objects (same rules as the HTTP API, no faults). */
  store: ObjectStore;
  faults: Faults;
  /** The simulated pods of a Deployment: image and readiness per pod, for the simulated mesh. */
  pods(namespace: string, deployment: string): SandboxPod[];
  /** Ends all watches and stops listening; resolves when the server is closed. */
  close(): Promise<void>;
}

function checkOptions(options: ApiServerOptions): void {
  const { port, podReadyDelayMs, watchHistory } = options;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new Error(`startApiServer: port must be an integer between 0 and 65535, got ${port}`);
  }
  if (podReadyDelayMs !== undefined && !(podReadyDelayMs >= 0)) {
    throw new Error(
      `startApiServer: podReadyDelayMs must be >= 0 (Infinity = never ready), got ${podReadyDelayMs}`,
    );
  }
  if (watchHistory !== undefined && (!Number.isInteger(watchHistory) || watchHistory < 1)) {
    throw new Error(`startApiServer: watchHistory must be a positive integer, got ${watchHistory}`);
  }
}

/** Starts the in-memory Kubernetes API on 127.0.0.1, speaking the real REST and watch protocol. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  checkOptions(options);
  const registry = new ResourceRegistry(withServedVersions(RESOURCE_TYPES, options.servedVersions));
  const store = new ObjectStore(registry, options.watchHistory ?? 1000);
  const watches = new WatchHub(store);
  const faults = new Faults(store, watches);
  const defaultDelay = options.podReadyDelayMs ?? 500;
  const readyDelay = options.readyDelayFor ?? (() => defaultDelay);
  const deployments = registry.byPath('apps', 'v1', 'deployments');
  if (!deployments) throw new Error('sandbox API registry lacks apps/v1 deployments');
  const controller = new DeploymentController(store, deployments, readyDelay);

  let address = '127.0.0.1:0';
  const server = createServer(
    createRequestHandler({ registry, store, watches, faults, serverAddress: () => address }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `http://${address}`;
  controller.start();
  for (const name of ['default', 'kube-system']) {
    store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } });
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    kubeconfig: () => sandboxKubeconfig(url),
    writeKubeconfig: (path) => writeFile(path, sandboxKubeconfig(url), { mode: 0o600 }),
    store,
    faults,
    pods: (namespace, deployment) => controller.podsOf(namespace, deployment),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        controller.stop();
        watches.closeAll();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
