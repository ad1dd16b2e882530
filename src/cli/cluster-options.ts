import type { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { Cluster } from '../kube/cluster.js';
import { loadKubeConfig } from './kubeconfig.js';

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** --kubeconfig, --context and -n/--namespace, as kubectl spells them. */
export function withClusterOptions(command: Command): Command {
  return command
    .option(
      '-n, --namespace <ns>',
      "namespace of the Rollout (default: the kubeconfig context's, else default)",
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context');
}

/** The namespace kubectl would use: -n, else the current context's namespace, else `default`. */
export function namespaceOf(kubeConfig: KubeConfig, flag?: string): string {
  if (flag) return flag;
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return context?.namespace || 'default';
}

export function connect(flags: ClusterFlags): {
  cluster: Cluster;
  namespace: string;
  kubeConfig: KubeConfig;
} {
  const kubeConfig = loadKubeConfig(flags);
  return {
    cluster: new Cluster(kubeConfig),
    namespace: namespaceOf(kubeConfig, flags.namespace),
    kubeConfig,
  };
}
