import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { DestinationRule, Deployment, MeshConfig, MeshConfigSource, VirtualService } from './config.js';
import type { GatewayHttpRoute, KubernetesService } from './httproute.js';

export interface KubernetesSourceOptions {
  /** A snapshot younger than this is served from memory: the mesh asks every tick, the API server sees ~4 lists/s. */
  maxAgeMs?: number;
}

const ISTIO_GROUP = 'networking.istio.io';
const ISTIO_VERSION = 'v1';

/**
 * Reads VirtualServices, DestinationRules and Deployments of one namespace through the Kubernetes API,
 * like istiod does, and hands the mesh plain JSON objects.
 */
export function kubernetesConfigSource(
  kubeConfig: KubeConfig,
  namespace: string,
  options: KubernetesSourceOptions = {},
): MeshConfigSource {
  const maxAgeMs = options.maxAgeMs ?? 250;
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let cached: { config: MeshConfig; at: number } | undefined;
  let inFlight: Promise<MeshConfig> | undefined;

  const listIstio = async (plural: string): Promise<unknown[]> => {
    const list = (await customObjects.listNamespacedCustomObject({
      group: ISTIO_GROUP,
      version: ISTIO_VERSION,
      namespace,
      plural,
    })) as { items?: unknown[] };
    return list.items ?? [];
  };

  const load = async (): Promise<MeshConfig> => {
    const [virtualServices, destinationRules, deployments, httpRoutes, services] = await Promise.all([
      listIstio('virtualservices'),
      listIstio('destinationrules'),
      apps.listNamespacedDeployment({ namespace }),
      customObjects
        .listNamespacedCustomObject({
          group: 'gateway.networking.k8s.io',
          version: 'v1',
          namespace,
          plural: 'httproutes',
        })
        .then((list) => ((list as { items?: unknown[] }).items ?? []) as GatewayHttpRoute[]),
      core.listNamespacedService({ namespace }),
    ]);
    const config: MeshConfig = {
      virtualServices: virtualServices as VirtualService[],
      destinationRules: destinationRules as DestinationRule[],
      // The client returns model instances (Dates, classes); the mesh works on the wire's plain JSON.
      deployments: JSON.parse(JSON.stringify(deployments.items)) as Deployment[],
      httpRoutes,
      services: JSON.parse(JSON.stringify(services.items)) as KubernetesService[],
    };
    cached = { config, at: Date.now() };
    return config;
  };

  return {
    snapshot() {
      if (cached && Date.now() - cached.at < maxAgeMs) return Promise.resolve(cached.config);
      inFlight ??= load().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
