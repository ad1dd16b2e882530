// The HTTPRoutes and GRPCRoutes Stepwise writes, accepted by the real Gateway API CRDs (standard channel, the version
// tools/crds/go.mod pins) on a real kube-apiserver: an HTTPRoute attached to a Service (GAMMA), one attached to a
// Gateway (north-south), and a GRPCRoute. A release moves each to its first weight; the route read back from the
// server has the new weights and nothing else of its spec changed (the server's defaults included).
import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, isHealthy, startE2E, type E2E } from '../e2e/harness.js';
import { clusterForSuite } from './fixture.js';
import { clusterStack, type ClusterStack } from './stack.js';
import { changedPaths } from '../support/changed-paths.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const GATEWAY_API = { group: 'gateway.networking.k8s.io', version: 'v1' } as const;
const FIRST_WEIGHT = 25;

interface Case {
  name: string;
  namespace: string;
  example: string;
  plural: 'httproutes' | 'grpcroutes';
  /** Index of the managed rule in the example. */
  rule: number;
  /** Turns the example's route into this case's before the release (e.g. attaches it to a Gateway). */
  reshape?: (custom: CustomObjectsApi, namespace: string, route: Json) => Promise<void>;
  /** Whether the simulated mesh routes it (GAMMA), so the harness can see the weights it routes by. */
  meshRoutes: boolean;
}

/** A Gateway of an implementation this control plane does not run: the API server takes the route all the same. */
async function attachToGateway(custom: CustomObjectsApi, namespace: string, route: Json): Promise<void> {
  await custom.createClusterCustomObject({
    ...GATEWAY_API,
    plural: 'gatewayclasses',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: 'example' },
      spec: { controllerName: 'example.com/gateway-controller' },
    },
  });
  await custom.createNamespacedCustomObject({
    ...GATEWAY_API,
    namespace,
    plural: 'gateways',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'shop' },
      spec: { gatewayClassName: 'example', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
    },
  });
  await custom.replaceNamespacedCustomObject({
    ...GATEWAY_API,
    namespace,
    plural: 'httproutes',
    name: APP,
    body: {
      ...route,
      spec: {
        ...route.spec,
        parentRefs: [{ name: 'shop', sectionName: 'http' }],
        hostnames: ['shop.example.com'],
      },
    },
  });
}

const CASES: Case[] = [
  {
    name: 'an HTTPRoute attached to the Service (GAMMA)',
    namespace: 'gamma-http',
    example: 'product-service-httproute',
    plural: 'httproutes',
    rule: 1,
    meshRoutes: true,
  },
  {
    name: 'an HTTPRoute attached to a Gateway (north-south)',
    namespace: 'gateway-http',
    example: 'product-service-httproute',
    plural: 'httproutes',
    rule: 1,
    reshape: attachToGateway,
    meshRoutes: false,
  },
  {
    name: 'a GRPCRoute attached to the Service (GAMMA)',
    namespace: 'gamma-grpc',
    example: 'product-service-grpcroute',
    plural: 'grpcroutes',
    rule: 1,
    meshRoutes: true,
  },
];

describe('Gateway API routes on a real kube-apiserver with the real Gateway API CRDs', () => {
  const cluster = clusterForSuite();

  for (const c of CASES) {
    describe(c.name, () => {
      let e2e: E2E<ClusterStack>;
      let custom: CustomObjectsApi;
      const route = async () =>
        (await custom.getNamespacedCustomObject({
          ...GATEWAY_API,
          plural: c.plural,
          namespace: c.namespace,
          name: APP,
        })) as Json;

      beforeAll(async () => {
        e2e = await startE2E({
          stack: (options) => clusterStack(cluster(), { ...options, namespace: c.namespace }),
          example: c.example,
          analysis: { interval: '2s', stepDuration: '4s', minRequests: 20, comparison: { enabled: false } },
          steps: [{ weight: FIRST_WEIGHT }, { weight: 100 }],
        });
        custom = e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
        if (c.reshape) await c.reshape(custom, c.namespace, await route());
        if (c.meshRoutes) await e2e.adopted();
        else await e2e.waitFor('adoption', isHealthy);
      });

      afterAll(async () => {
        await e2e?.close();
      });

      it('the first weight Stepwise writes is accepted: only the two weights of the managed rule change', async () => {
        const weights = (r: Json) => r.spec.rules[c.rule].backendRefs.map((ref: Json) => ref.weight);
        const before = await route();
        const refs = `/rules/${c.rule}/backendRefs`;
        expect(weights(before)).toEqual([100, 0]);
        await e2e.release(`${IMAGE}:1.1.0`);
        await e2e.waitFor(
          'the first weight',
          (s) => s.phase === 'Progressing' && s.canaryWeight === FIRST_WEIGHT,
          90_000,
        );
        // The status names the step's weight as the pass decides it; the route carries it once the patch is in.
        let after = await route();
        for (
          const deadline = Date.now() + 30_000;
          weights(after)[1] !== FIRST_WEIGHT;
          after = await route()
        ) {
          if (Date.now() > deadline) throw new Error(`the route never carried weight ${FIRST_WEIGHT}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(weights(after)).toEqual([100 - FIRST_WEIGHT, FIRST_WEIGHT]);
        expect(changedPaths(before.spec, after.spec).sort()).toEqual([
          `${refs}/0/weight`,
          `${refs}/1/weight`,
        ]);
        expect(after.metadata.generation).toBe(before.metadata.generation + 1);
        if (c.meshRoutes) await e2e.meshRoutesCanaryWeight(FIRST_WEIGHT);
      });
    });
  }
});
