// The controller's in-cluster dashboard on a real kube-apiserver: a bearer token resolved with a TokenReview
// on every request, and the caller's own RBAC on the Rollout (SubjectAccessReview) for every read and command,
// with the RBAC the chart grants when webDashboard.enabled is set.
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, startE2E, type E2E } from '../e2e/harness.js';
import { applyChartRbac } from './chart.js';
import { freePort } from './processes.js';
import { startClusterStack, type ClusterStack } from './stack.js';

const RBAC_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding']);

describe('the in-cluster dashboard', () => {
  let e2e: E2E<ClusterStack>;
  let url: string;
  const tokens: Record<'nobody' | 'viewer' | 'operator', string> = { nobody: '', viewer: '', operator: '' };

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    e2e = await startE2E({
      stack: startClusterStack,
      controllerArgs: [`--dashboard-address=127.0.0.1:${port}`],
    });
    const { kubeConfig } = e2e.stack;
    // The chart's cluster RBAC with the dashboard on, over the default install the stack made.
    await applyChartRbac(kubeConfig, ['webDashboard.enabled=true'], RBAC_KINDS);

    // Three users: no rights on Rollouts, read only, and read plus patch (the buttons).
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const rbacApi = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const namespace = e2e.namespace;
    const roles = { viewer: ['get', 'list'], operator: ['get', 'list', 'patch'] };
    for (const [role, verbs] of Object.entries(roles)) {
      await rbacApi.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: `rollout-${role}` },
          rules: [{ apiGroups: ['stepwise.dev'], resources: ['rollouts'], verbs }],
        },
      });
    }
    for (const user of Object.keys(tokens) as (keyof typeof tokens)[]) {
      const name = `dashboard-${user}`;
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      if (user !== 'nobody') {
        await rbacApi.createNamespacedRoleBinding({
          namespace,
          body: {
            metadata: { name },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `rollout-${user}` },
            subjects: [{ kind: 'ServiceAccount', name, namespace }],
          },
        });
      }
      const token = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { expirationSeconds: 3600 } },
      });
      tokens[user] = token.status?.token ?? '';
    }
    await e2e.adopted();
  });

  afterAll(async () => {
    await e2e?.close();
  });

  const request = async (path: string, token?: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, headers: response.headers, body: await response.text() };
  };

  it('refuses a request without a bearer token, or with one the API server does not accept, with 401', async () => {
    const bare = await request('/api/rollouts');
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.parse(bare.body).error).toMatch(/no bearer token/);
    expect((await request('/', 'not-a-token')).status).toBe(401);
  });

  it('refuses a user without rights on the Rollout with 403, and shows it to a user with get and list', async () => {
    const detail = `/api/rollouts/${e2e.namespace}/${APP}`;
    const list = await request('/api/rollouts', tokens.nobody);
    expect(list.status).toBe(403);
    expect(JSON.parse(list.body).error).toMatch(/dashboard-nobody may not list Rollouts/);
    expect((await request(detail, tokens.nobody)).status).toBe(403);

    const seen = await request('/api/rollouts', tokens.viewer);
    expect(seen.status).toBe(200);
    expect((JSON.parse(seen.body) as { items: { name: string }[] }).items.map((r) => r.name)).toEqual([APP]);
    const one = await request(detail, tokens.viewer);
    expect(one.status).toBe(200);
    expect((JSON.parse(one.body) as { summary: { name: string } }).summary.name).toBe(APP);
  });

  it("passes a gate with the promote button's POST only for a user who may patch the Rollout", async () => {
    await e2e.patchRolloutSpec({
      steps: [
        { weight: 20, duration: '2s', pause: true },
        { weight: 50, duration: '2s' },
      ],
    });
    await e2e.release(`${IMAGE}:1.5.0`);
    await e2e.waitFor('the gate', (s) => s.phase === 'Paused' && s.reason === 'Gate', 60_000);

    // As the page sends it: with the per-process token from its meta tag.
    const page = await request('/', tokens.viewer);
    const pageToken = /name="stepwise-token" content="([0-9a-f]+)"/.exec(page.body)![1]!;
    const promote = (token: string) =>
      request(`/api/rollouts/${e2e.namespace}/${APP}/promote`, token, {
        method: 'POST',
        headers: { 'x-stepwise-token': pageToken },
      });

    const refused = await promote(tokens.viewer);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toMatch(/dashboard-viewer may not patch Rollout .*\(promote\)/);
    expect((await e2e.status()).phase).toBe('Paused');

    const accepted = await promote(tokens.operator);
    expect(accepted.status, accepted.body).toBe(200);
    expect(JSON.parse(accepted.body)).toMatchObject({ command: 'promote', accepted: true });
    const done = await e2e.waitFor('promotion after the gate', (s) => s.phase === 'Succeeded', 60_000);
    expect(done.phase).toBe('Succeeded');
  }, 120_000);
});
