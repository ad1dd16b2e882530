import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { withRetry } from '../../src/kube/retry.js';
import type { DestinationRule, Deployment, MeshConfig, MeshConfigSource, VirtualService } from './config.js';
import type { GatewayGrpcRoute } from './grpcroute.js';
import type { GatewayHttpRoute, KubernetesService } from './httproute.js';

export interface KubernetesSourceOptions {
  /** A snapshot younger than this is served from memory: the mesh asks every tick, the API server sees ~4 lists/s. */
  maxAgeMs?: number;
}

const ISTIO_GROUP = 'networking.istio.io';
const ISTIO_VERSION = 'v1';

/**
 * Reads the VirtualServices, DestinationRules, HTTPRoutes, GRPCRoutes, Services and Deployments of one namespace
 * through the Kubernetes API, like istiod does, and hands the mesh plain JSON objects.
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

  const listCustom = async (group: string, version: string, plural: string): Promise<unknown[]> => {
    // A CRD just established answers 429 "storage is (re)initializing" until the API server's watch cache of it is
    // ready: wait as its Retry-After says, as the controller does.
    const list = (await withRetry(
      () => customObjects.listNamespacedCustomObject({ group, version, namespace, plural }),
      5,
    )) as { items?: unknown[] };
    return list.items ?? [];
  };
  const listIstio = (plural: string) => listCustom(ISTIO_GROUP, ISTIO_VERSION, plural);
  const listGatewayRoutes = (plural: string) => listCustom('gateway.networking.k8s.io', 'v1', plural);

  const load = async (): Promise<MeshConfig> => {
    const [virtualServices, destinationRules, deployments, httpRoutes, grpcRoutes, services] =
      await Promise.all([
        listIstio('virtualservices'),
        listIstio('destinationrules'),
        apps.listNamespacedDeployment({ namespace }),
        listGatewayRoutes('httproutes') as Promise<GatewayHttpRoute[]>,
        listGatewayRoutes('grpcroutes') as Promise<GatewayGrpcRoute[]>,
        core.listNamespacedService({ namespace }),
      ]);
    const config: MeshConfig = {
      virtualServices: virtualServices as VirtualService[],
      destinationRules: destinationRules as DestinationRule[],
      // The client returns model instances (Dates, classes); the mesh works on the wire's plain JSON.
      deployments: JSON.parse(JSON.stringify(deployments.items)) as Deployment[],
      httpRoutes,
      grpcRoutes,
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
