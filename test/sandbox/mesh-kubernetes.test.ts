import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from '../../sandbox/apiserver/index.js';
import { kubernetesConfigSource } from '../../sandbox/mesh/kubernetes-source.js';
import { startMesh, type Mesh } from '../../sandbox/mesh/mesh.js';
import { NAMESPACE, productServiceRouting, trackDeployment } from './mesh-fixture.js';

describe('the mesh reading its routing from the Kubernetes API', () => {
  let apiServer: ApiServer;
  let kubeConfig: KubeConfig;
  let mesh: Mesh | undefined;

  beforeAll(async () => {
    apiServer = await startApiServer({ podReadyDelayMs: 0 });
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(apiServer.kubeconfig());
    await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const routing = productServiceRouting();
    const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    const apply = (plural: string, body: object) =>
      customObjects.createNamespacedCustomObject({
        group: 'networking.istio.io',
        version: 'v1',
        namespace: NAMESPACE,
        plural,
        body,
      });
    for (const virtualService of routing.virtualServices) await apply('virtualservices', virtualService);
    for (const destinationRule of routing.destinationRules) await apply('destinationrules', destinationRule);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    for (const track of ['stable', 'canary']) {
      const { status: _status, ...deployment } = trackDeployment(track, {
        image: `registry.local/product-service:${track}`,
      });
      await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment as V1Deployment });
    }
  });

  afterAll(async () => {
    await mesh?.close();
    await apiServer?.close();
  });

  it('routes by the VirtualService, DestinationRule and ready Deployments it lists, and follows weight changes', async () => {
    mesh = await startMesh({ source: kubernetesConfigSource(kubeConfig, NAMESPACE), rps: 200, tickMs: 50 });
    const served = (workload: string, routeIndex: number) =>
      mesh!
        .stats()
        .filter((stat) => stat.workload === workload && stat.routeIndex === routeIndex)
        .reduce((sum, stat) => sum + stat.requests, 0);
    // Pods become ready through the API server's simulated readiness; then both tracks serve.
    await expect.poll(() => served('product-service-canary', 1), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => served('product-service-stable', 1), { timeout: 15_000 }).toBeGreaterThan(0);

    const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    const virtualService = (await customObjects.getNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: NAMESPACE,
      plural: 'virtualservices',
      name: 'product-service',
    })) as { spec: { http: { route: { weight?: number }[] }[] } };
    const weighted = virtualService.spec.http[1]?.route;
    if (!weighted?.[0] || !weighted[1])
      throw new Error('fixture changed: http[1] should have two destinations');
    weighted[0].weight = 100;
    weighted[1].weight = 0;
    await customObjects.replaceNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      namespace: NAMESPACE,
      plural: 'virtualservices',
      name: 'product-service',
      body: virtualService,
    });

    await expect
      .poll(
        () =>
          mesh!
            .weightHistory()
            .filter((record) => record.routeIndex === 1)
            .map((record) => record.weights.map((weight) => weight.weight).join('/')),
        { timeout: 10_000 },
      )
      .toEqual(['90/10', '100/0']);
    expect(mesh.configError()).toBeUndefined();
  });
});
