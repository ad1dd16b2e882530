// Replay protection across two controller replicas on a real kube-apiserver: each replica's trigger webhook calls
// the API as the chart's ServiceAccount, with the RBAC the chart grants when webhook.enabled is set, and reads the
// webhook Secret from the release namespace. A signature is recorded on the Rollout (annotation
// stepwise.dev/trigger-signatures) with the resourceVersion read, so the API server's 409 decides between replicas.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment } from '../sandbox/apiserver-fixture.js';
import {
  HMAC_KEY,
  IMAGE,
  imageOf,
  NS,
  replayAfterCiMovedOn,
  rollout,
  serveWebhook,
  TOKEN,
  type ServedWebhook,
} from '../server/webhook-fixture.js';
import { applyChartRbac, RELEASE_NAMESPACE } from './chart.js';
import { clusterForSuite } from './fixture.js';

const ROLLOUTS = { group: 'stepwise.dev', version: 'v1alpha1', plural: 'rollouts', namespace: NS } as const;

describe('a signed trigger is accepted once across two controller replicas on a real kube-apiserver', () => {
  const cluster = clusterForSuite();
  let replicas: ServedWebhook[] = [];
  let apps: AppsV1Api;

  beforeAll(async () => {
    const { plane, chart } = cluster();
    await applyChartRbac(plane.kubeConfig, ['webhook.enabled=true'], new Set(['Role', 'RoleBinding']));
    await plane.kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: RELEASE_NAMESPACE,
      body: {
        metadata: { name: 'stepwise-webhook' },
        stringData: { token: `${TOKEN}\n`, hmacKey: HMAC_KEY },
      },
    });
    apps = plane.kubeConfig.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('app', `${IMAGE}:1.0.0`) });
    await plane.kubeConfig
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ ...ROLLOUTS, body: rollout('app', 'app') });
    const asController = new KubeConfig();
    asController.loadFromFile(chart.kubeconfigPath);
    replicas = await Promise.all([1, 2].map(() => serveWebhook({ kc: asController }, {}, RELEASE_NAMESPACE)));
  });

  afterAll(() => {
    for (const replica of replicas) replica.close();
  });

  it('refuses on the second replica a captured request the first accepted (401), so it cannot downgrade', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    const { released, replayed } = await replayAfterCiMovedOn(a, b, b);
    expect(released).toEqual([202, 202]);
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { error: string }).error).toMatch(/this signature was used already/);
    expect(await imageOf({ apps })).toBe(`${IMAGE}:1.2.0`);
  });

  it('accepts exactly one of the same signed request sent to both replicas at once', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    for (let round = 3; round <= 6; round++) {
      const body = JSON.stringify({ namespace: NS, rollout: 'app', image: `${IMAGE}:1.${round}.0` });
      const headers = a.signed(body);
      const answers = await Promise.all([a.post(body, headers), b.post(body, headers)]);
      expect(answers.map((res) => res.status).sort(), `round ${round}`).toEqual([202, 401]);
      expect(await imageOf({ apps })).toBe(`${IMAGE}:1.${round}.0`);
    }
  });
});
