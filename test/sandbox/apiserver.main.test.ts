import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

describe('sandbox API: runnable entry', () => {
  it('serves until SIGTERM and writes a kubeconfig that client-node can use', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-main-'));
    const kubeconfigPath = join(dir, 'kubeconfig');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'sandbox/apiserver/main.ts', '--port', '0', '--kubeconfig-out', kubeconfigPath],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface(child.stdout);
      const [first] = (await once(lines, 'line')) as [string];
      expect(first).toMatch(/^sandbox API listening on http:\/\/127\.0\.0\.1:\d+$/);

      const kc = new KubeConfig();
      kc.loadFromString(await readFile(kubeconfigPath, 'utf8'));
      expect(kc.getCurrentContext()).toBe('sandbox');
      expect(kc.getCurrentCluster()?.server).toBe(first.replace('sandbox API listening on ', ''));
      const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toContain('default');

      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
