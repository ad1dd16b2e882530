// The collections the controller watches, as list-and-watch sources: Rollouts, Deployments and the routing kinds,
// in one namespace or all, each at the version the cluster serves, listed in pages.
import type { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { CustomResource } from '../kube/cluster.js';
import { pageOf, pageParams, type KubeObject, type WatchSource } from '../kube/watch.js';

type Items = { items: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };

const customPath = (r: CustomResource, ns?: string) =>
  `/apis/${r.group}/${r.version}${ns ? `/namespaces/${ns}` : ''}/${r.plural}`;

/** A custom resource's collection at `version`, the one the cluster serves. */
export function customSource(
  r: CustomResource,
  custom: CustomObjectsApi,
  ns: string | undefined,
  version = r.version,
): WatchSource {
  return {
    name: `${r.plural} in ${ns ? `namespace ${ns}` : 'all namespaces'}`,
    path: customPath({ ...r, version }, ns),
    list: async (page) => {
      const list = (await (ns
        ? custom.listNamespacedCustomObject({ ...r, version, namespace: ns, ...pageParams(page) })
        : custom.listClusterCustomObject({ ...r, version, ...pageParams(page) }))) as Items;
      return { items: list.items, ...pageOf(list.metadata) };
    },
  };
}

export function deploymentSource(apps: AppsV1Api, ns: string | undefined): WatchSource {
  return {
    name: `deployments in ${ns ? `namespace ${ns}` : 'all namespaces'}`,
    path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : '/apis/apps/v1/deployments',
    list: async (page) => {
      const list = ns
        ? await apps.listNamespacedDeployment({ namespace: ns, ...pageParams(page) })
        : await apps.listDeploymentForAllNamespaces(pageParams(page));
      return { items: list.items as KubeObject[], ...pageOf(list.metadata) };
    },
  };
}
