import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Where the leader Lease lives when --leader-election-namespace is not given: the controller's own namespace. */
export function leaderElectionNamespace(kubeConfig: KubeConfig): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE, 'utf8').trim();
  } catch {
    return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  }
}
