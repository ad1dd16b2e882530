// The real controller, in process, against the sandbox API server through the real client-node.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { RolloutStatus } from '../../src/api/status.js';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { Controller, type ControllerOptions } from '../../src/controller/controller.js';
import { type ApiServer, type ApiServerOptions, startApiServer } from '../../sandbox/apiserver/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cartDeployment, cartDestinationRule, cartRollout } from './cart.js';

export const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };
export const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };
export const HTTP_ROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
export const DR = { group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' };

/** Creates the service "cart" (Deployment, VirtualService with `http` routes, DestinationRule) and its Rollout. */
export async function createCart(
  sandbox: ControllerOnSandbox,
  namespace: string,
  replicas: number,
  http: unknown[],
): Promise<void> {
  const { apps, custom } = sandbox;
  await apps.createNamespacedDeployment({ namespace, body: cartDeployment(replicas) });
  await custom.createNamespacedCustomObject({
    ...VS,
    namespace,
    body: {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'cart' },
      spec: { hosts: ['cart'], http },
    },
  });
  await custom.createNamespacedCustomObject({ ...DR, namespace, body: cartDestinationRule() });
  await custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace, body: cartRollout() });
}

/** The `http` routes of a VirtualService already routed to the track subsets: everything to stable. */
export const SUBSET_ROUTE = [
  {
    name: 'primary',
    route: [
      { destination: { host: 'cart', subset: 'stable' }, weight: 100 },
      { destination: { host: 'cart', subset: 'canary' }, weight: 0 },
    ],
  },
];

/** A DestinationRule's subsets as Stepwise expects them: each selects one track's pods. */
export const TRACK_SUBSETS = (['stable', 'canary'] as const).map((track) => ({
  name: track,
  labels: { 'stepwise.dev/track': track },
}));

/** A Rollout spec for the app `name` whose Prometheus is unreachable (no analysis is reached in these tests). */
export function rolloutSpec(name: string, istio: object = { destinationRule: { name } }): object {
  return {
    targetRef: { name },
    trafficRouting: { istio: { virtualService: { name }, ...istio } },
    analysis: { prometheus: { address: 'http://127.0.0.1:1' } },
  };
}

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

export interface ControllerOnSandbox {
  api: ApiServer;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  /** Reads a custom object (a VirtualService, a Rollout) of the namespace. */
  read(resource: CustomResource, name: string): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Replaces the spec of a custom object of the namespace with what `edit` makes of it, as a user would. */
  editSpec(
    resource: CustomResource,
    name: string,
    edit: (spec: Record<string, unknown>) => object,
  ): Promise<void>;
  createRollout(name: string, spec: object): Promise<void>;
  /** The user's Deployment `name`: pods labelled `app: name`, one container `name:1` with the ports given. */
  createDeployment(name: string, replicas: number, ports?: { containerPort: number }[]): Promise<void>;
  createVirtualService(name: string, spec: object): Promise<void>;
  /** An HTTPRoute (gateway.networking.k8s.io/v1) of the namespace. */
  createHttpRoute(name: string, spec: object): Promise<void>;
  /** Starts the controller (after the test created its objects). */
  start(): Promise<void>;
  status(name: string): Promise<RolloutStatus>;
  waitFor(name: string, until: (s: RolloutStatus) => boolean): Promise<RolloutStatus>;
  stop(): Promise<void>;
}

export async function controllerOnSandbox(
  namespace: string,
  podReadyDelayMs: number,
  options: Partial<ControllerOptions> = {},
  apiOptions: ApiServerOptions = {},
): Promise<ControllerOnSandbox> {
  const api = await startApiServer({ ...apiOptions, podReadyDelayMs });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig());
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const logger = createLogger({ silent: true });
  const controller = new Controller({
    kubeConfig,
    analyzer: createPrometheusAnalyzer({ logger }),
    logger,
    ...options,
  });
  const status = async (name: string) =>
    ((
      (await custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name })) as { status?: RolloutStatus }
    ).status ?? {}) as RolloutStatus;
  const read = async (resource: CustomResource, name: string) =>
    (await custom.getNamespacedCustomObject({ ...resource, namespace, name })) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  return {
    api,
    read,
    async editSpec(resource, name, edit) {
      const object = await read(resource, name);
      const body = { ...object, spec: edit(object.spec as Record<string, unknown>) };
      await custom.replaceNamespacedCustomObject({ ...resource, namespace, name, body });
    },
    async createVirtualService(name, spec) {
      await custom.createNamespacedCustomObject({
        ...VS,
        namespace,
        body: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name }, spec },
      });
    },
    async createHttpRoute(name, spec) {
      await custom.createNamespacedCustomObject({
        ...HTTP_ROUTES,
        namespace,
        body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name }, spec },
      });
    },
    async createDeployment(name, replicas, ports) {
      await apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name },
          spec: {
            replicas,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: [{ name, image: `${name}:1`, ...(ports && { ports }) }] },
            },
          },
        },
      });
    },
    async createRollout(name, spec) {
      await custom.createNamespacedCustomObject({
        ...ROLLOUTS,
        namespace,
        body: { apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout', metadata: { name }, spec },
      });
    },
    apps,
    core: kubeConfig.makeApiClient(CoreV1Api),
    custom,
    start: () => controller.start(),
    status,
    async waitFor(name, until) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const s = await status(name);
        if (until(s)) return s;
        if (Date.now() > deadline) throw new Error(`${name}: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await controller.stop();
      await api.close();
    },
  };
}
