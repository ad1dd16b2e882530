import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CliError } from './exit.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
}

const inCluster = () =>
  !!process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');

/**
 * Where kubectl would find no configuration at all. client-node then falls back to http://localhost:8080 and
 * fails later with "HTTP protocol is not allowed when skipTLSVerify is not set", which hides the cause.
 */
function missingKubeconfig(): string | undefined {
  const fromEnv = process.env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [];
  if (fromEnv.length > 0) {
    return fromEnv.some((f) => existsSync(f))
      ? undefined
      : `KUBECONFIG names ${fromEnv.join(delimiter)}, which does not exist; point KUBECONFIG at your kubeconfig file or pass --kubeconfig <file>`;
  }
  if (existsSync(join(homedir(), '.kube', 'config')) || inCluster()) return undefined;
  return `no kubeconfig: KUBECONFIG is not set, ${join(homedir(), '.kube', 'config')} does not exist and this is not a pod in a cluster; pass --kubeconfig <file>, set KUBECONFIG, or create ~/.kube/config (e.g. with your cloud's "get-credentials" command)`;
}

/** --kubeconfig, else $KUBECONFIG / ~/.kube/config / in-cluster, as kubectl does; --context picks a context. */
export function loadKubeConfig(flags: KubeFlags): KubeConfig {
  const kc = new KubeConfig();
  if (flags.kubeconfig) {
    if (!existsSync(flags.kubeconfig)) {
      throw new CliError(
        `--kubeconfig ${flags.kubeconfig}: no such file; give the path of a kubeconfig file`,
      );
    }
    kc.loadFromFile(flags.kubeconfig);
  } else {
    const missing = missingKubeconfig();
    if (missing) throw new CliError(missing);
    kc.loadFromDefault();
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new CliError(
        `--context ${flags.context}: no such context in the kubeconfig; use one of ${known.join(', ') || '(none)'}`,
      );
    }
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CliError('no Kubernetes cluster configured: pass --kubeconfig <file> or set KUBECONFIG');
  }
  return kc;
}
