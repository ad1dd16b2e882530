// The Helm chart as a cluster would get it: `helm template` of charts/stepwise, its ServiceAccount and RBAC
// applied to the control plane, and the controller's flags and credential taken from what the chart renders.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { manifestApplier } from '../../sandbox/stack.js';
import { obtainHelm, renderChart, type Manifest } from '../packaging/helm.js';
import type { ControlPlane } from './control-plane.js';

export const RELEASE_NAMESPACE = 'stepwise-system';
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
// The process gets these from the harness (a free port, debug logs to find its passes).
const HARNESS_FLAGS = ['--metrics-address', '--log-level'];

export interface ChartInstall {
  /** A kubeconfig that authenticates as the chart's ServiceAccount (a TokenRequest token). */
  kubeconfigPath: string;
  /** The chart's `stepwise controller` flags, e.g. --leader-elect and its Lease. */
  controllerArgs: string[];
  serviceAccount: string;
}

interface ChartDeployment {
  spec: {
    template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
  };
}

/** The chart's RBAC of `kinds` rendered with `set` (e.g. an optional feature on), applied over the install. */
export async function applyChartRbac(
  kubeConfig: KubeConfig,
  set: string[],
  kinds: ReadonlySet<string> = RBAC_KINDS,
): Promise<void> {
  const helm = obtainHelm();
  if ('missing' in helm) throw new Error(`cannot render the chart: ${helm.missing}`);
  const rbac = renderChart(helm.helm, { set }).filter((m) => kinds.has(m.kind));
  await manifestApplier(kubeConfig, RELEASE_NAMESPACE)(rbac);
}

export async function installChart(plane: ControlPlane): Promise<ChartInstall> {
  const helm = obtainHelm();
  if ('missing' in helm) throw new Error(`cannot render the chart: ${helm.missing}`);
  const manifests: Manifest[] = renderChart(helm.helm);
  await plane.kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: RELEASE_NAMESPACE } } });
  await manifestApplier(plane.kubeConfig, RELEASE_NAMESPACE)(manifests.filter((m) => RBAC_KINDS.has(m.kind)));

  const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as ChartDeployment | undefined;
  if (!deployment) throw new Error('the chart rendered no Deployment');
  const pod = deployment.spec.template.spec;
  const [command, ...args] = pod.containers[0]?.args ?? [];
  if (command !== 'controller') throw new Error(`the chart's container runs "${command}", not "controller"`);
  return {
    kubeconfigPath: await plane.serviceAccountKubeconfig(RELEASE_NAMESPACE, pod.serviceAccountName),
    controllerArgs: args.filter((arg) => !HARNESS_FLAGS.some((flag) => arg.startsWith(`${flag}=`))),
    serviceAccount: pod.serviceAccountName,
  };
}
