// The two API servers the contract runs against: the in-memory sandbox, and (in the cluster tier) a real
// kube-apiserver on loopback with the chart's, Istio's and Gateway API's CRDs.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from '../../sandbox/apiserver/index.js';
import { startControlPlane } from '../cluster/control-plane.js';
import { installCrds, readCrds } from '../cluster/crds.js';

export interface ContractServer {
  name: string;
  kubeConfig: KubeConfig;
  /** A fresh namespace for one test. */
  namespace(): Promise<string>;
  /** A resourceVersion the server no longer keeps the events after (a watch from it must get 410). */
  tooOldResourceVersion(): Promise<string>;
  close(): Promise<void>;
}

export { CLUSTER_TIER } from '../cluster/tier.js';

let namespaces = 0;
async function createNamespace(kubeConfig: KubeConfig): Promise<string> {
  const name = `contract-${process.pid}-${++namespaces}`;
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function sandboxServer(): Promise<ContractServer> {
  const server = await startApiServer({ podReadyDelayMs: 50 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(server.kubeconfig());
  return {
    name: 'sandbox',
    kubeConfig,
    namespace: () => createNamespace(kubeConfig),
    tooOldResourceVersion: () => {
      const before = server.store.resourceVersion();
      // One more write, then the history before it is forgotten: `before` is now too old.
      server.store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'history-' } });
      server.faults.forgetHistory();
      return Promise.resolve(before);
    },
    close: () => server.close(),
  };
}

export async function kubeApiServer(): Promise<ContractServer> {
  const plane = await startControlPlane({ workloads: false });
  try {
    await installCrds(plane, readCrds());
  } catch (error) {
    await plane.stop();
    throw error;
  }
  return {
    name: `kube-apiserver ${plane.version}`,
    kubeConfig: plane.kubeConfig,
    namespace: () => createNamespace(plane.kubeConfig),
    // A resource's watch cache starts at the resourceVersion it was first listed at (for a CRD: when it
    // became established), so etcd's first revision is older than anything it keeps.
    tooOldResourceVersion: () => Promise.resolve('1'),
    close: () => plane.stop(),
  };
}
