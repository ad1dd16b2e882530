// Chunked lists on the sandbox API, as kube-apiserver serves them (limit, continue, remainingItemCount, 410 on an
// expired token), through client-node as the controller's watches send them, and through kubectl's own chunking.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTINUE_EXPIRES_MS, ListPages } from '../../sandbox/apiserver/list-pages.js';
import { deployment, startSandbox, type Sandbox } from './apiserver-fixture.js';

const run = promisify(execFile);
const kubectlInstalled = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;

describe('chunked lists', () => {
  let sandbox: Sandbox;
  const names = ['list-a', 'list-b', 'list-c', 'list-d', 'list-e'];
  beforeAll(async () => {
    sandbox = await startSandbox();
    for (const name of names)
      await sandbox.apps.createNamespacedDeployment({
        namespace: 'default',
        body: deployment(name, 'shop/api:1'),
      });
  });
  afterAll(() => sandbox?.server.close());

  const page = (limit: number, token?: string) =>
    sandbox.apps.listNamespacedDeployment({
      namespace: 'default',
      limit,
      ...(token ? { _continue: token } : {}),
    });

  it('serves every page of one list from the snapshot of its first page, with that resourceVersion', async () => {
    const first = await page(2);
    expect(first.items.map((d) => d.metadata?.name)).toEqual(['list-a', 'list-b']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    // A change between pages is not in the list: the watch from the list's resourceVersion brings it.
    await sandbox.apps.deleteNamespacedDeployment({ namespace: 'default', name: 'list-c' });
    await sandbox.apps.createNamespacedDeployment({
      namespace: 'default',
      body: deployment('list-f', 'shop/api:1'),
    });
    const second = await page(2, first.metadata?._continue);
    const third = await page(2, second.metadata?._continue);
    expect([...second.items, ...third.items].map((d) => d.metadata?.name)).toEqual([
      'list-c',
      'list-d',
      'list-e',
    ]);
    expect(third.metadata?._continue).toBeUndefined();
    expect(third.metadata?.remainingItemCount).toBeUndefined();
    expect(new Set([first, second, third].map((p) => p.metadata?.resourceVersion)).size).toBe(1);
    // A new list sees the changes.
    const now = await page(10);
    expect(now.items.map((d) => d.metadata?.name)).toEqual([
      'list-a',
      'list-b',
      'list-d',
      'list-e',
      'list-f',
    ]);
    expect(now.metadata?._continue).toBeUndefined();
  });

  it('refuses an unknown or expired continue token with 410 Expired, and a token of another list with 400', async () => {
    const expired = await page(
      1,
      Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', id: 'feedface', start: 1 })).toString('base64url'),
    ).catch((error: unknown) => error);
    expect(expired).toBeInstanceOf(ApiException);
    expect((expired as ApiException<string>).code).toBe(410);
    expect(String((expired as ApiException<string>).body)).toMatch(
      /too old to display a consistent list result/,
    );

    const token = (await page(1)).metadata?._continue;
    const other = await sandbox.apps
      .listNamespacedDeployment({ namespace: 'kube-system', limit: 1, _continue: token! })
      .catch((error: unknown) => error);
    expect((other as ApiException<string>).code).toBe(400);
  });

  it('expires a token after etcd compaction would have (5 minutes) and keeps a bounded number of snapshots', () => {
    let now = 0;
    const pages = new ListPages(() => now);
    const items = names.map((name) => ({ apiVersion: 'v1', kind: 'X', metadata: { name } }));
    const take = () => ({ items, resourceVersion: '7' });
    const first = pages.page({ limit: '2', continue: null }, 'x', take);
    now = CONTINUE_EXPIRES_MS;
    expect(pages.page({ limit: '2', continue: first.metadata.continue! }, 'x', take).items).toHaveLength(2);
    now = CONTINUE_EXPIRES_MS + 1;
    expect(() => pages.page({ limit: '2', continue: first.metadata.continue! }, 'x', take)).toThrow(
      /too old/,
    );
    expect(() => pages.page({ limit: '-1', continue: null }, 'x', take)).toThrow(
      /limit must be a whole number/,
    );
    // Lists never continued: the oldest snapshots go, the newest stay continuable.
    const tokens = Array.from(
      { length: 100 },
      () => pages.page({ limit: '1', continue: null }, 'x', take).metadata.continue!,
    );
    expect(() => pages.page({ limit: '1', continue: tokens[0]! }, 'x', take)).toThrow(/too old/);
    expect(pages.page({ limit: '1', continue: tokens.at(-1)! }, 'x', take).items).toHaveLength(1);
  });

  it.skipIf(!kubectlInstalled)(
    'lets kubectl get page through a collection with its own chunk size',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'stepwise-kubectl-pages-'));
      try {
        const kubeconfig = join(dir, 'kubeconfig');
        writeFileSync(kubeconfig, sandbox.server.kubeconfig());
        // Not spawnSync: the sandbox answers from this process's event loop.
        const kubectl = (...args: string[]) =>
          run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'deployments', '--chunk-size=2', ...args], {
            timeout: 30_000,
          });
        const names = (await kubectl('-o', 'name')).stdout.trim().split('\n');
        expect(names).toEqual(
          ['list-a', 'list-b', 'list-d', 'list-e', 'list-f'].map((n) => `deployment.apps/${n}`),
        );
        const table = (await kubectl()).stdout.trim().split('\n');
        expect(table.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([
          'list-a',
          'list-b',
          'list-d',
          'list-e',
          'list-f',
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
