// Deleting a Rollout mid-canary on a real control plane (owner references, the garbage collector): traffic
// goes back to stable before the canary goes, so no request finds a subset without pods. This needs the
// Rollout finalizer; without it the scenario is skipped, saying so.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, startE2E, type E2E } from '../e2e/harness.js';
import { startClusterStack, type ClusterStack } from './stack.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' } as const;

describe('deleting a Rollout on a real kube-apiserver', () => {
  let e2e: E2E<ClusterStack>;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    e2e = await startE2E({
      stack: startClusterStack,
      analysis: { interval: '2s', stepDuration: '10m', minRequests: 20, comparison: { enabled: false } },
    });
    custom = e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
    await e2e.adopted();
  });

  afterAll(async () => {
    await e2e?.close();
  });

  const unrouted = () =>
    e2e.stack.mesh
      .stats()
      .filter((s) => s.responseCode === 503)
      .reduce((sum, s) => sum + s.requests, 0);

  it('deletes a Rollout in the middle of a step without a failed request', async (context) => {
    const rollout = (await custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: e2e.namespace,
      name: APP,
    })) as {
      metadata: { finalizers?: string[] };
    };
    if (!rollout.metadata.finalizers?.length) {
      context.skip('the Rollout has no finalizer on this branch: deletion cannot route back to stable first');
    }
    await e2e.release(`${IMAGE}:3.0.0`);
    await e2e.waitFor('step 2', (s) => s.currentStep === 2 && s.stepStartedAt !== undefined);
    await e2e.meshRoutesCanaryWeight(25);
    const before = unrouted();
    await custom.deleteNamespacedCustomObject({ ...ROLLOUTS, namespace: e2e.namespace, name: APP });
    const exists = () =>
      custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace: e2e.namespace, name: APP }).then(
        () => true,
        () => false,
      );
    const deadline = Date.now() + 60_000;
    while (await exists()) {
      if (Date.now() > deadline) throw new Error('the Rollout was still there 60 s after its deletion');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await e2e.meshRoutesCanaryWeight(0);
    // The mesh keeps sending traffic for a few more reads of the cluster.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(unrouted() - before).toBe(0);
  });
});
