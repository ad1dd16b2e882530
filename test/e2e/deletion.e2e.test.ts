// Deleting a Rollout, end to end: the sandbox API (finalizers and garbage collection as in Kubernetes), the
// simulated mesh sending 100 requests a second by the VirtualService's weights, and `stepwise controller` as
// a real process. No request may fail. Needs no Prometheus: nothing here waits for a check to pass.
import { join } from 'node:path';
import { AppsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import type { ApiServer } from '../../sandbox/apiserver/index.js';
import { startControllerProcess, type ControllerProcess } from '../../sandbox/controller-process.js';
import type { Mesh } from '../../sandbox/mesh/index.js';
import { type MeshedCluster, readManifests, startMeshedCluster } from '../../sandbox/stack.js';
import { APP, IMAGE, until } from './harness.js';

const ROLLOUT = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts', namespace: 'default' };
const EXAMPLE = new URL('../../rollouts/product-service', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Stack {
  api: ApiServer;
  mesh: Mesh;
  controller: ControllerProcess;
  custom: CustomObjectsApi;
  apps: AppsV1Api;
  logFile: string;
  apply: MeshedCluster['apply'];
}

/** Requests the mesh answered with an error (5xx, or 404 for no route), and all requests, so far. */
function counts(mesh: Mesh): { failed: number; all: number } {
  const stats = mesh.stats();
  return {
    failed: stats.filter((s) => s.responseCode >= 400).reduce((sum, s) => sum + s.requests, 0),
    all: stats.reduce((sum, s) => sum + s.requests, 0),
  };
}

describe('deleting a Rollout', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(): Promise<Stack> {
    // Pods that never fail and no header route to the canary: every failed request is the routing's fault.
    const cluster = await startMeshedCluster({
      podReadyDelayMs: 200,
      rps: 100,
      mesh: {
        headerRequests: { share: 0, headers: {} },
        behaviour: () => ({ errorRate: 0, latencyMs: { p50: 50, p99: 200 } }),
      },
    });
    cleanups.push(() => cluster.close());
    await cluster.apply(readManifests(EXAMPLE));
    const { api, mesh, kubeConfig, kubeconfigPath, dir } = cluster;
    const logFile = join(dir, 'controller.log');
    const controller = startControllerProcess({ kubeconfigPath, logFile, logLevel: 'debug' });
    cleanups.push(() => controller.kill('SIGTERM'));
    const stack = {
      api,
      mesh,
      controller,
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
      apps: kubeConfig.makeApiClient(AppsV1Api),
      logFile,
      apply: cluster.apply,
    };
    await waitForStatus(stack, 'adoption', (s) => s.phase === 'Healthy');
    // The mesh routes by the adopted weights (stable 100) once it re-read the VirtualService.
    await until('the mesh to route everything to stable', () => lastCanaryWeight(mesh) === 0, 5_000);
    return stack;
  }

  async function waitForStatus(stack: Stack, what: string, ok: (s: RolloutStatus) => boolean) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = (await stack.custom.getNamespacedCustomObject({ ...ROLLOUT, name: APP })) as {
        status?: RolloutStatus;
      };
      if (ok(r.status ?? {})) return;
      if (Date.now() > deadline)
        throw new Error(`no ${what}: ${JSON.stringify(r.status)}; log ${stack.logFile}`);
      await sleep(100);
    }
  }

  const lastCanaryWeight = (mesh: Mesh) =>
    mesh
      .weightHistory()
      .filter((r) => r.routeIndex === 1)
      .at(-1)
      ?.weights.find((w) => w.subset === 'canary')?.weight;

  const rolloutGone = (stack: Stack) =>
    stack.custom.getNamespacedCustomObject({ ...ROLLOUT, name: APP }).then(
      () => false,
      (error: { code?: number }) => error.code === 404,
    );
  const deployment = (stack: Stack, name: string) =>
    stack.apps.readNamespacedDeployment({ namespace: 'default', name }).catch(() => undefined);

  async function deleteAndWait(stack: Stack): Promise<{ failed: number; all: number }> {
    const before = counts(stack.mesh);
    await stack.custom.deleteNamespacedCustomObject({ ...ROLLOUT, name: APP });
    const deadline = Date.now() + 30_000;
    while (!(await rolloutGone(stack))) {
      if (Date.now() > deadline) throw new Error(`the Rollout was never removed; log ${stack.logFile}`);
      await sleep(100);
    }
    // Garbage collection and the mesh's next reads of the cluster (every 250 ms) have happened by then.
    await sleep(2_000);
    const after = counts(stack.mesh);
    return { failed: after.failed - before.failed, all: after.all - before.all };
  }

  it('fails no request and keeps <app>-stable serving when a Healthy Rollout is deleted, and a new Rollout leaves it alone', async () => {
    const stack = await start();
    const metricsUrl = await stack.controller.metricsUrl;
    expect(await (await fetch(`${metricsUrl}/metrics`)).text()).toContain(`rollout="${APP}"`);

    const requests = await deleteAndWait(stack);

    expect(requests.all).toBeGreaterThan(100);
    expect(requests.failed).toBe(0);
    const stable = await deployment(stack, `${APP}-stable`);
    expect(stable?.metadata?.ownerReferences).toBeUndefined();
    expect(stable?.status?.readyReplicas).toBe(4);
    // The deleted Rollout's series are gone from the controller's /metrics.
    expect(await (await fetch(`${metricsUrl}/metrics`)).text()).not.toContain(`rollout="${APP}"`);

    // Applied again (a GitOps re-sync), the Rollout does not take the kept Deployment over and says how to go on.
    const before = counts(stack.mesh);
    await stack.apply(readManifests(EXAMPLE).filter((m) => m.kind === 'Rollout'));
    await waitForStatus(stack, 'the refusal', (s) => /was kept serving/.test(s.message ?? ''));
    await sleep(1_000);
    expect(counts(stack.mesh).failed - before.failed).toBe(0);
    expect((await deployment(stack, `${APP}-stable`))?.status?.readyReplicas).toBe(4);
  }, 60_000);

  it('moves the canary’s traffic to stable before the canary goes when a Rollout is deleted mid-step', async () => {
    const stack = await start();
    await stack.apps.patchNamespacedDeployment({
      namespace: 'default',
      name: APP,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `${IMAGE}:1.1.0` }],
    });
    await waitForStatus(stack, 'the first step', (s) => s.phase === 'Progressing' && s.canaryWeight === 5);
    await until('the mesh to route 5% to the canary', () => lastCanaryWeight(stack.mesh) === 5, 5_000);

    const requests = await deleteAndWait(stack);

    expect(requests.failed).toBe(0);
    expect(lastCanaryWeight(stack.mesh)).toBe(0);
    expect(await deployment(stack, `${APP}-canary`)).toBeUndefined();
    expect((await deployment(stack, `${APP}-stable`))?.status?.readyReplicas).toBe(4);
  }, 60_000);
});
