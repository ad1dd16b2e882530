// Where bench/scale.ts runs its services: the sandbox API server in the bench process (default), or with
// --cluster the real control plane of the cluster tier (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok: Deployments get real ReplicaSets and Pods), with the CRDs users run and the chart's
// RBAC, the controller authenticating as the chart's ServiceAccount.
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from '../sandbox/apiserver/index.js';
import { PODS_PER_NODE } from '../test/cluster/control-plane.js';
import { startCluster } from '../test/cluster/fixture.js';

export interface ScaleBackend {
  /** The admin's client configuration (the bench's own calls). */
  kubeConfig: KubeConfig;
  /** The kubeconfig file the controller runs with. */
  controllerKubeconfig: string;
  /** The status of each service's Rollout (undefined before its first write). */
  statuses(services: Service[]): Promise<(BenchStatus | undefined)[]>;
  /** The canary weight on the service's VirtualService. */
  weightOf(namespace: string, app: string): Promise<number>;
  /** How long to wait between two looks at phases and weights. */
  pollMs: number;
  close(): Promise<void>;
}

export interface Service {
  ns: string;
  app: string;
}

/** What the bench reads of a Rollout's status. */
export interface BenchStatus {
  phase?: string;
  stepStartedAt?: string;
  analysis?: { checks?: number; lastCheckAt?: string };
}
type Phased = { metadata: { namespace: string; name: string }; status?: BenchStatus };
type Route = { spec: { http: { route: { weight: number }[] }[] } };
const canaryWeight = (vs: Route) => vs.spec.http[0]!.route[1]!.weight;

export async function sandboxBackend(dir: string): Promise<ScaleBackend> {
  const api = await startApiServer({ podReadyDelayMs: 200 });
  const controllerKubeconfig = join(dir, 'kubeconfig');
  await api.writeKubeconfig(controllerKubeconfig);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(controllerKubeconfig);
  const rollouts = { apiVersion: 'stepwise.dev/v1alpha1', kind: 'Rollout' };
  const virtualServices = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService' };
  return {
    kubeConfig,
    controllerKubeconfig,
    pollMs: 2,
    statuses: (services) =>
      Promise.resolve(services.map(({ ns, app }) => (api.store.get(rollouts, ns, app) as Phased)?.status)),
    weightOf: (namespace, app) =>
      Promise.resolve(canaryWeight(api.store.get(virtualServices, namespace, app) as unknown as Route)),
    close: () => api.close(),
  };
}

/**
 * `pods`: the most pods the bench's services run at once, for which the control plane gets enough fake Nodes;
 * its controller manager runs at 200 requests/s so that thousands of ReplicaSets and Pods do not wait on it.
 */
export async function clusterBackend(namespaces: string[], pods: number): Promise<ScaleBackend> {
  const cluster = await startCluster({
    nodes: Math.max(1, Math.ceil(pods / PODS_PER_NODE)),
    controllerManagerQps: 200,
  });
  const { plane, chart } = cluster;
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  for (const name of namespaces) await core.createNamespace({ body: { metadata: { name } } });
  const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
  return {
    kubeConfig: plane.kubeConfig,
    controllerKubeconfig: chart.kubeconfigPath,
    // Every look is a request to kube-apiserver: often enough to time an abort, not so often as to load it.
    pollMs: 20,
    statuses: async (services) => {
      const list = (await custom.listClusterCustomObject({
        group: 'stepwise.dev',
        version: 'v1alpha1',
        plural: 'rollouts',
      })) as { items: Phased[] };
      const status = new Map(list.items.map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r.status]));
      return services.map(({ ns, app }) => status.get(`${ns}/${app}`));
    },
    weightOf: async (namespace, app) =>
      canaryWeight(
        (await custom.getNamespacedCustomObject({
          group: 'networking.istio.io',
          version: 'v1',
          plural: 'virtualservices',
          namespace,
          name: app,
        })) as Route,
      ),
    close: () => cluster.stop(),
  };
}
