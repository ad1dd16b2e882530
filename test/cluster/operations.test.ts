// An invalid spec on a real control plane: refused at the API by the chart's CRD schema when the schema can
// say so, else marked Failed by the controller, with the field named and no traffic changed. (trigger --wait,
// abort and the rollouts themselves run here from test/e2e, see vitest.cluster.config.ts.)
import { ApiException, AuthorizationV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, startE2E, type E2E } from '../e2e/harness.js';
import { startClusterStack, type ClusterStack } from './stack.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts' } as const;

describe('an invalid Rollout spec on a real kube-apiserver', () => {
  let e2e: E2E<ClusterStack>;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    e2e = await startE2E({ stack: startClusterStack });
    custom = e2e.stack.kubeConfig.makeApiClient(CustomObjectsApi);
    await e2e.adopted();
  });

  afterAll(async () => {
    await e2e?.close();
  });

  it('refuses a step weight above 100 at the API (the chart CRD schema names the field)', async () => {
    const current = (await custom.getNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: e2e.namespace,
      name: APP,
    })) as {
      spec: Record<string, unknown>;
    };
    let refused: ApiException<unknown> | undefined;
    try {
      await custom.replaceNamespacedCustomObject({
        ...ROLLOUTS,
        namespace: e2e.namespace,
        name: APP,
        body: { ...current, spec: { ...current.spec, steps: [{ weight: 120 }] } },
      });
    } catch (error) {
      if (error instanceof ApiException) refused = error;
      else throw error;
    }
    expect(refused?.code).toBe(422);
    const body = JSON.parse(String(refused?.body)) as { details?: { causes?: { field?: string }[] } };
    expect(body.details?.causes?.map((c) => c.field)).toContain('spec.steps[0].weight');
  });

  it('marks a spec the schema accepts but the controller cannot run Failed with InvalidSpec, naming the field', async () => {
    const before = (await e2e.virtualService()) as { spec: unknown };
    await e2e.patchRolloutSpec({ steps: [{ weight: 50 }, { weight: 20 }] });
    const status = await e2e.waitFor('InvalidSpec', (s) => s.reason === 'InvalidSpec');
    expect(status.phase).toBe('Failed');
    expect(status.message).toContain('spec.steps[1].weight');
    expect(((await e2e.virtualService()) as { spec: unknown }).spec).toEqual(before.spec);
  });

  it('runs the controller as the chart ServiceAccount: what the chart RBAC grants, and nothing more', async () => {
    const asController = new KubeConfig();
    asController.loadFromFile(e2e.stack.controllerKubeconfigPath!);
    const reviews = asController.makeApiClient(AuthorizationV1Api);
    const may = async (verb: string, group: string, resource: string, subresource = '') =>
      (
        await reviews.createSelfSubjectAccessReview({
          body: {
            spec: { resourceAttributes: { verb, group, resource, subresource, namespace: e2e.namespace } },
          },
        })
      ).status?.allowed;
    expect(await may('patch', 'stepwise.dev', 'rollouts', 'status')).toBe(true);
    expect(await may('patch', 'networking.istio.io', 'virtualservices')).toBe(true);
    expect(await may('list', '', 'secrets')).toBe(false);
    expect(await may('patch', 'networking.istio.io', 'destinationrules')).toBe(false);
    expect(await may('delete', 'stepwise.dev', 'rollouts')).toBe(false);
  });
});
