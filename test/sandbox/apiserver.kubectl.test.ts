import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startSandbox, type Sandbox } from './apiserver-fixture.js';

// What kubectl asks the API before `apply` and for `describe` / `get events`. The HTTP requests are the ones kubectl
// makes (kubectl pkg/cmd/util Validator → cli-runtime QueryParamVerifierV3; pkg/describe searchEvents; the
// server-side Table of `get`); kubectl itself runs them too when it is installed.

const root = fileURLToPath(new URL('../../', import.meta.url));
const kubectlInstalled = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectlInstalled)
  console.warn('apiserver.kubectl: kubectl is not installed; checking its requests only');

describe('kubectl against the sandbox API', () => {
  let sandbox: Sandbox;
  let dir: string;
  let kubeconfig: string;
  const get = async (path: string, accept = 'application/json') =>
    (await fetch(`${sandbox.server.url}${path}`, { headers: { accept } })).json() as Promise<
      Record<string, unknown>
    >;
  // Asynchronous: the API server answers from this process, so its event loop must keep running.
  const kubectl = (...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(
        'kubectl',
        args,
        { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (error.code as number | null) : 0, out: `${stdout}${stderr}` }),
      );
    });

  beforeAll(async () => {
    sandbox = await startSandbox();
    dir = mkdtempSync(join(tmpdir(), 'stepwise-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    await sandbox.server.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await sandbox?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells kubectl that every kind validates fields on the server, so apply needs no --validate=false', async () => {
    const root = (await get('/openapi/v3')) as { paths: Record<string, { serverRelativeURL: string }> };
    for (const [gv, kind] of [
      ['apis/stepwise.dev/v1alpha1', 'Rollout'],
      ['apis/networking.istio.io/v1', 'VirtualService'],
      ['apis/apps/v1', 'Deployment'],
      ['api/v1', 'Service'],
    ] as const) {
      const doc = (await get(root.paths[gv]!.serverRelativeURL)) as {
        paths: Record<string, { patch?: Record<string, unknown> }>;
      };
      const patch = Object.values(doc.paths)
        .map((path) => path.patch)
        .find(
          (op) => (op?.['x-kubernetes-group-version-kind'] as { kind?: string } | undefined)?.kind === kind,
        );
      expect(patch, `${gv} ${kind}`).toBeDefined();
      expect(patch!.parameters).toContainEqual(
        expect.objectContaining({ name: 'fieldValidation', in: 'query' }),
      );
      // Strategic merge patch for built-in kinds only, as kube-apiserver: kubectl then merge-patches custom resources.
      const media = Object.keys((patch!.requestBody as { content: Record<string, unknown> }).content);
      expect(media.includes('application/strategic-merge-patch+json')).toBe(!gv.includes('.'));
    }

    if (kubectlInstalled) {
      const first = await kubectl('apply', '-f', 'rollouts/product-service/');
      expect(first.code, first.out).toBe(0);
      expect(first.out).toContain('rollout.stepwise.dev/product-service created');
      const again = await kubectl('apply', '-f', 'rollouts/product-service/');
      expect(again.code, again.out).toBe(0);
      expect(again.out).toContain('rollout.stepwise.dev/product-service unchanged');
    }
  });

  it('finds a Rollout’s events by the fields kubectl describe selects them by, and prints them as kubectl does', async () => {
    // The Rollout of the example (applied above when kubectl is installed): its uid is part of what describe selects.
    const ref = { group: 'stepwise.dev', version: 'v1alpha1', namespace: 'default', plural: 'rollouts' };
    const existing = (await sandbox.custom
      .getNamespacedCustomObject({ ...ref, name: 'product-service' })
      .catch(() =>
        sandbox.custom.createNamespacedCustomObject({
          ...ref,
          body: parse(readFileSync(join(root, 'rollouts/product-service/rollout.yaml'), 'utf8')) as object,
        }),
      )) as { metadata: { uid: string } };
    const rollout = {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      name: 'product-service',
      namespace: 'default',
      uid: existing.metadata.uid,
    };
    for (const [name, reason, involvedObject] of [
      ['product-service.1', 'Initialized', rollout],
      ['other.1', 'Initialized', { ...rollout, name: 'other' }],
      ['product-service.2', 'ScalingReplicaSet', { ...rollout, kind: 'Deployment', apiVersion: 'apps/v1' }],
    ] as const) {
      await sandbox.core.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { name, namespace: 'default' },
          involvedObject,
          reason,
          type: 'Normal',
          message: `${reason} ${involvedObject.kind}`,
          source: { component: 'stepwise' },
          lastTimestamp: new Date(),
        },
      });
    }
    const found = (await get(
      `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(
        `involvedObject.name=product-service,involvedObject.namespace=default,involvedObject.kind=Rollout,involvedObject.uid=${rollout.uid}`,
      )}`,
    )) as { items: { metadata: { name: string } }[] };
    expect(found.items.map((e) => e.metadata.name)).toEqual(['product-service.1']);
    const bySource = (await get(
      `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('source=stepwise,reason!=Initialized')}`,
    )) as { items: { metadata: { name: string } }[] };
    expect(bySource.items.map((e) => e.metadata.name)).toEqual(['product-service.2']);

    const table = (await get(
      '/api/v1/namespaces/default/events',
      'application/json;as=Table;v=v1;g=meta.k8s.io',
    )) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(table.columnDefinitions.map((c) => c.name)).toEqual([
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Message',
    ]);
    expect(table.rows.map((r) => r.cells.slice(1))).toContainEqual([
      'Normal',
      'Initialized',
      'rollout/product-service',
      'Initialized Rollout',
    ]);

    if (kubectlInstalled) {
      const described = await kubectl('describe', 'rollout', 'product-service');
      expect(described.code, described.out).toBe(0);
      expect(described.out).toMatch(
        /Events:\s+Type\s+Reason\s+Age\s+From\s+Message[\s\S]*Normal\s+Initialized\s+\S+\s+stepwise\s+Initialized Rollout/,
      );
      expect(described.out).not.toContain('ScalingReplicaSet');
      const events = await kubectl('get', 'events');
      expect(events.out).toMatch(/Normal\s+Initialized\s+rollout\/product-service\s+Initialized Rollout/);
    }
  });
});
