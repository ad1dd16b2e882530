// The routing modes beyond the Istio subset split, end to end on the sandbox (real controller process, real
// Prometheus, the mesh routing by the route object): an Istio host split, a GAMMA HTTPRoute (on Istio's sidecars,
// Istio ambient, Linkerd and Cilium, the mesh exporting that mesh's metrics) and a GAMMA GRPCRoute, each from its
// example in rollouts/. A good release is promoted, a 5%-error release rolled back with the reason, an abort puts
// all traffic on stable, and only the managed two weights of the route object ever change.
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, prometheusInstalled, readExample, settled, startE2E, type E2E } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MODES = [
  {
    example: 'product-service-host-split',
    resource: { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' },
    kind: 'VirtualService',
    weights: (spec: Json) => spec.http[1].route as Json[],
  },
  // GAMMA: the same HTTPRoute, judged by Istio's sidecar metrics, Istio ambient's waypoint, Linkerd's or Hubble's.
  ...[
    'product-service-httproute',
    'product-service-ambient',
    'product-service-linkerd',
    'product-service-cilium',
  ].map((example) => ({
    example,
    resource: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' },
    kind: 'HTTPRoute',
    weights: (spec: Json) => spec.rules[1].backendRefs as Json[],
  })),
  {
    example: 'product-service-grpcroute',
    resource: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'grpcroutes' },
    kind: 'GRPCRoute',
    weights: (spec: Json) => spec.rules[1].backendRefs as Json[],
  },
];

for (const mode of MODES) {
  describe.skipIf(!prometheusInstalled)(`${mode.example} on the sandbox, end to end`, () => {
    let e2e: E2E;
    const route = async () =>
      (
        (await e2e.stack.kubeConfig
          .makeApiClient(CustomObjectsApi)
          .getNamespacedCustomObject({ ...mode.resource, namespace: e2e.namespace, name: APP })) as Json
      ).spec as Json;
    /** The route object as written in the example, with the two managed weights blanked. */
    const withoutWeights = (spec: Json) => {
      const copy = structuredClone(spec);
      for (const ref of mode.weights(copy)) delete ref.weight;
      return copy;
    };

    beforeAll(async () => {
      e2e = await startE2E({
        example: mode.example,
        analysis: {
          interval: '2s',
          stepDuration: '4s',
          minRequests: 20,
          comparison: { enabled: false },
          thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
        },
        steps: [{ weight: 25 }, { weight: 50 }, { weight: 100 }],
      });
      await e2e.adopted();
    }, 90_000);

    afterAll(async () => {
      await e2e?.close();
    });

    it('promotes a good release, moving only the two managed weights of the route object', async () => {
      await e2e.release(`${IMAGE}:1.1.0`);
      await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
      const status = await e2e.waitFor('promotion', settled, 120_000);
      expect(status.phase, status.message).toBe('Succeeded');
      await e2e.meshRoutesCanaryWeight(0);
      expect(e2e.canaryWeights().map((w) => w.weight)).toEqual([0, 25, 50, 100, 0]);
      const spec = await route();
      expect(withoutWeights(spec)).toStrictEqual(
        withoutWeights(readExample(mode.example, mode.kind).spec as Json),
      );
      expect(mode.weights(spec).map((r) => r.weight)).toEqual([100, 0]);
    }, 150_000);

    it('rolls back a release with 5% errors, naming the error rate and the limit', async () => {
      await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
      await e2e.waitFor('the rollout to start', (s) => s.phase === 'Progressing');
      const status = await e2e.waitFor('the rollback', settled, 120_000);
      expect(status.phase).toBe('RolledBack');
      expect(status.reason).toBe('ErrorRate');
      expect(status.message).toMatch(/canary error rate .* is above the limit 1%/);
      await e2e.meshRoutesCanaryWeight(0);
      expect(withoutWeights(await route())).toStrictEqual(
        withoutWeights(readExample(mode.example, mode.kind).spec as Json),
      );
    }, 150_000);

    it('aborts a release on command: all traffic back to stable', async () => {
      await e2e.release(`${IMAGE}:1.3.0`);
      await e2e.waitFor(
        'the first step',
        (s) => s.phase === 'Progressing' && (s.canaryWeight ?? 0) > 0,
        60_000,
      );
      const abort = await e2e.cli(['abort', APP, '-o', 'json']);
      expect(abort.code, abort.stderr).toBe(0);
      expect(await e2e.status()).toMatchObject({ phase: 'Aborted', canaryWeight: 0 });
      await e2e.meshRoutesCanaryWeight(0);
      expect(mode.weights(await route()).map((r) => r.weight)).toEqual([100, 0]);
    }, 90_000);
  });
}
