import { KubeConfig } from '@kubernetes/client-node';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

/** --kubeconfig, else $KUBECONFIG / ~/.kube/config / in-cluster, as kubectl does; --context picks a context. */
export function loadKubeConfig(flags: KubeFlags): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
  else kc.loadFromDefault();
  if (flags.context) kc.setCurrentContext(flags.context);
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig <file> or set KUBECONFIG');
  }
  return kc;
}
