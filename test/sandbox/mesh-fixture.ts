import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { meshConfigFromManifests, type MeshConfig } from '../../sandbox/mesh/config.js';

export const NAMESPACE = 'production';

/** The example VirtualService (x-canary header route, then the 90/10 weighted route) and DestinationRule. */
export function productServiceRouting(): MeshConfig {
  const text = readFileSync(new URL('./fixtures/istio-product-service.yaml', import.meta.url), 'utf8');
  const manifests = parseAllDocuments(text).map((document) => document.toJS() as unknown);
  return meshConfigFromManifests(manifests, NAMESPACE);
}

export interface TrackOptions {
  image?: string;
  readyReplicas?: number;
  app?: string;
  version?: string;
}

/** A Deployment `<app>-<track>` the way Stepwise creates it: the target's template plus the track label. */
export function trackDeployment(track: string, options: TrackOptions = {}) {
  const app = options.app ?? 'product-service';
  const labels: Record<string, string> = { app, 'stepwise.dev/track': track };
  if (options.version) labels.version = options.version;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${app}-${track}`, namespace: NAMESPACE },
    spec: {
      replicas: options.readyReplicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: options.image ?? `registry.local/${app}:v1` }] },
      },
    },
    status: { readyReplicas: options.readyReplicas ?? 1 },
  };
}

/** The fixture's routing with a ready stable and a ready canary. */
export function productServiceMesh(stable: TrackOptions = {}, canary: TrackOptions = {}): MeshConfig {
  const config = productServiceRouting();
  config.deployments.push(
    trackDeployment('stable', { version: 'v1', ...stable }),
    trackDeployment('canary', { image: 'registry.local/product-service:v2', version: 'v2', ...canary }),
  );
  return config;
}

/** Sets the weights of the fixture's weighted route (http[1]): stable, canary. */
export function setWeights(config: MeshConfig, stable: number, canary: number): void {
  const route = config.virtualServices[0]?.spec?.http?.[1]?.route;
  if (!route?.[0] || !route[1]) throw new Error('fixture changed: http[1] should have two destinations');
  route[0].weight = stable;
  route[1].weight = canary;
}

/**
 * An example of rollouts/ (its Deployment and Service, and its VirtualService or HTTPRoute), with the two track
 * Deployments and the two Services Stepwise creates for them.
 */
export function exampleMesh(dir: string, canaryImage = 'registry.local/product-service:v2'): MeshConfig {
  const routing =
    ['httproute.yaml', 'grpcroute.yaml'].find((file) =>
      existsSync(new URL(`../../rollouts/${dir}/${file}`, import.meta.url)),
    ) ?? 'istio.yaml';
  const manifests = ['deployment.yaml', routing].flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(`../../rollouts/${dir}/${file}`, import.meta.url), 'utf8')).map(
      (d) => d.toJS() as unknown,
    ),
  );
  const config = meshConfigFromManifests(manifests, NAMESPACE);
  config.deployments = [trackDeployment('stable'), trackDeployment('canary', { image: canaryImage })];
  for (const track of ['stable', 'canary']) {
    (config.services ??= []).push({
      metadata: { name: `product-service-${track}`, namespace: NAMESPACE },
      spec: { selector: { app: 'product-service', 'stepwise.dev/track': track } },
    });
  }
  return config;
}
