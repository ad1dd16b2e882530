// A real control plane ready for Stepwise: the CRDs users run (Istio's, Gateway API's, the chart's) and the
// chart's ServiceAccount and RBAC, with a credential for that ServiceAccount.
import { afterAll, beforeAll } from 'vitest';
import { installChart, type ChartInstall } from './chart.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { installCrds, readCrds } from './crds.js';

export interface Cluster {
  plane: ControlPlane;
  chart: ChartInstall;
  stop(): Promise<void>;
}

export async function startCluster(options: ControlPlaneOptions = {}): Promise<Cluster> {
  const plane = await startControlPlane(options);
  try {
    await installCrds(plane, readCrds());
    const chart = await installChart(plane);
    process.stdout.write(`control plane ${plane.version} ready in ${plane.startedInMs} ms\n`);
    return { plane, chart, stop: () => plane.stop() };
  } catch (error) {
    await plane.stop();
    throw error;
  }
}

/** One cluster for the enclosing describe block: started before its tests, stopped after them. */
export function clusterForSuite(): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the cluster is not started yet: use it in a hook or a test');
    return cluster;
  };
}
