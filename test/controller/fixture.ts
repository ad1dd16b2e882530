// The real controller, in process, against the sandbox API server through the real client-node.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { RolloutStatus } from '../../src/api/status.js';
import { createPrometheusAnalyzer } from '../../src/analysis/analyzer.js';
import { Controller, type ControllerOptions } from '../../src/controller/controller.js';
import { type ApiServer, startApiServer } from '../../src/sandbox/apiserver/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { cartDeployment, cartDestinationRule, cartRollout } from './cart.js';

export const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' };
export const VS = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' };
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

export interface ControllerOnSandbox {
  api: ApiServer;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
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
): Promise<ControllerOnSandbox> {
  const api = await startApiServer({ podReadyDelayMs });
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
  return {
    api,
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
