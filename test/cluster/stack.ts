// The e2e harness's stack on a real control plane: the simulated mesh reading routes and readiness from
// the real API, Prometheus 3 scraping it, and the controller authenticating as the chart's ServiceAccount
// with the chart's flags. `STEPWISE_TEST_TIER=cluster` makes it the harness's default (npm run test:cluster).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { manifestApplier, startMeshAndPrometheus, type StackOptions } from '../../sandbox/stack.js';
import type { E2EStack } from '../e2e/harness.js';
import { startCluster, type Cluster } from './fixture.js';
import { toolBinary } from './tools.js';

export type ClusterStack = E2EStack & { cluster: Cluster };

/** A stack on a control plane of its own, stopped with it; in `options.namespace` (default `default`). */
export async function startClusterStack(options: StackOptions = {}): Promise<ClusterStack> {
  const cluster = await startCluster();
  try {
    const stack = await clusterStack(cluster, options);
    return {
      ...stack,
      async close() {
        await stack.close();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** A stack on a running cluster; its namespace is created unless it exists. */
export async function clusterStack(cluster: Cluster, options: StackOptions = {}): Promise<ClusterStack> {
  const { plane, chart } = cluster;
  const namespace = options.namespace ?? 'default';
  const core = plane.kubeConfig.makeApiClient(CoreV1Api);
  if (namespace !== 'default') await core.createNamespace({ body: { metadata: { name: namespace } } });
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-cluster-stack-'));
  try {
    const { mesh, prometheus } = await startMeshAndPrometheus(
      plane.kubeConfig,
      namespace,
      options,
      toolBinary('prometheus'),
    );
    return {
      cluster,
      mesh,
      prometheus,
      kubeConfig: plane.kubeConfig,
      kubeconfigPath: plane.kubeconfigPath,
      namespace,
      dir,
      apply: manifestApplier(plane.kubeConfig, namespace),
      controllerKubeconfigPath: chart.kubeconfigPath,
      controllerArgs: chart.controllerArgs,
      async close() {
        await prometheus.close().catch(() => undefined);
        await mesh.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
