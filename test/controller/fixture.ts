// The real controller, in process, against the sandbox API server through the real client-node.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { RolloutStatus } from '../../src/api/status.js';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { Controller } from '../../src/controller/controller.js';
import { type ApiServer, startApiServer } from '../../src/sandbox/apiserver/index.js';
import { createLogger } from '../../src/telemetry/logger.js';

export const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };
export const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };
export const DR = { group: 'networking.istio.io', version: 'v1', plural: 'destinationrules' };

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
  createVirtualService(name: string, spec: object): Promise<void>;
  /** Starts the controller (after the test created its objects). */
  start(): Promise<void>;
  status(name: string): Promise<RolloutStatus>;
  waitFor(name: string, until: (s: RolloutStatus) => boolean): Promise<RolloutStatus>;
  stop(): Promise<void>;
}

export async function controllerOnSandbox(
  namespace: string,
  podReadyDelayMs: number,
): Promise<ControllerOnSandbox> {
  const api = await startApiServer({ podReadyDelayMs });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig());
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const logger = createLogger({ silent: true });
  const controller = new Controller({ kubeConfig, analyzer: createPrometheusAnalyzer({ logger }), logger });
  const status = async (name: string) =>
    ((
      (await custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name })) as { status?: RolloutStatus }
    ).status ?? {}) as RolloutStatus;
  const read = async (resource: CustomResource, name: string) =>
    (await custom.getNamespacedCustomObject({ ...resource, namespace, name })) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
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
    async createRollout(name, spec) {
      await custom.createNamespacedCustomObject({
        ...ROLLOUTS,
        namespace,
        body: { apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout', metadata: { name }, spec },
      });
    },
    apps: kubeConfig.makeApiClient(AppsV1Api),
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
