// The CLI as one Linux executable (Node's single executable applications): built by scripts/build-sea.sh,
// then run with no Node on PATH against the sandbox API server.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, ROLLOUTS, rollout, type Sandbox } from '../sandbox/apiserver-fixture.js';
import { REPO_ROOT } from './helm.js';

const run = promisify(execFile);
const binary = join(REPO_ROOT, 'dist/sea/stepwise');
// No node anywhere on it: the executable must carry its own.
const env = { PATH: '/nonexistent' };

let sandbox: Sandbox;
let dir: string;

beforeAll(async () => {
  await run('bash', [join(REPO_ROOT, 'scripts/build-sea.sh')], { cwd: REPO_ROOT, timeout: 240_000 });
  sandbox = await startSandbox();
  dir = mkdtempSync(join(tmpdir(), 'stepwise-sea-'));
  await sandbox.server.writeKubeconfig(join(dir, 'kubeconfig'));
  await sandbox.custom.createNamespacedCustomObject({
    ...ROLLOUTS,
    namespace: 'default',
    body: rollout('product-service'),
  });
}, 300_000);

afterAll(async () => {
  await sandbox?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the single-file executable', () => {
  it('prints its version without a Node installed', async () => {
    const { stdout } = await run(binary, ['--version'], { env, timeout: 30_000 });
    expect(stdout).toBe('0.1.0\n');
  });

  it('shows the status of a Rollout on the sandbox', async () => {
    const { stdout } = await run(
      binary,
      ['status', 'product-service', '--kubeconfig', join(dir, 'kubeconfig')],
      { env, timeout: 30_000 },
    );
    expect(stdout).toMatch(/^Rollout: +default\/product-service$/m);
    expect(stdout).toMatch(/^Phase: +Pending/m);
  });

  it('answers kubectl completion when linked as kubectl_complete-stepwise', async () => {
    const link = join(dir, 'kubectl_complete-stepwise');
    symlinkSync(binary, link);
    const { stdout } = await run(link, ['status', '--kubeconfig', join(dir, 'kubeconfig'), 'prod'], {
      env,
      timeout: 30_000,
    });
    expect(stdout).toBe('product-service\n:4\n');
  });

  it('serves the dashboard page and its scripts from the files embedded in it', async () => {
    const child = spawn(
      binary,
      ['dashboard', '--address', '127.0.0.1:0', '--kubeconfig', join(dir, 'kubeconfig')],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stop = setTimeout(() => child.kill('SIGKILL'), 15_000); // bounded, whatever happens below
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const seen = (chunk: Buffer) => {
          output += chunk.toString();
          const found = /Stepwise dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
          if (found) resolve(found[1]!);
        };
        child.stdout.on('data', seen);
        child.stderr.on('data', seen);
        child.once('exit', (code) => reject(new Error(`dashboard exited with ${code}: ${output}`)));
      });
      const get = async (path: string) => {
        const response = await fetch(new URL(path, url), { signal: AbortSignal.timeout(10_000) });
        return {
          status: response.status,
          type: response.headers.get('content-type'),
          body: await response.text(),
        };
      };
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(page.body).toContain('<script src="/assets/app.js"');
      const app = await get('/assets/app.js');
      expect(app).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
      expect(app.body).toBe(readFileSync(join(REPO_ROOT, 'src/dashboard/assets/app.js'), 'utf8'));
      const chart = await get('/assets/uPlot.js');
      expect(chart.status).toBe(200);
      expect(chart.body).toContain('uPlot');
      expect((await get('/api/rollouts')).body).toContain('product-service');
    } finally {
      clearTimeout(stop);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        process.kill(child.pid!, 'SIGTERM');
        await exited;
      }
    }
  });

  it('comes as a krew plugin whose manifest names the archive and its checksum', async () => {
    const archive = join(REPO_ROOT, 'dist/sea/kubectl-stepwise-linux-amd64.tar.gz');
    const manifest = parse(readFileSync(join(REPO_ROOT, 'dist/sea/stepwise.krew.yaml'), 'utf8')) as {
      kind: string;
      spec: { version: string; platforms: { uri: string; sha256: string; bin: string }[] };
    };
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.spec.version).toBe('v0.1.0');
    const [linux] = manifest.spec.platforms;
    expect(linux!.uri).toMatch(/\/kubectl-stepwise-linux-amd64\.tar\.gz$/);
    expect(linux!.sha256).toBe(createHash('sha256').update(readFileSync(archive)).digest('hex'));
    expect(linux!.bin).toBe('kubectl-stepwise');
    const { stdout } = await run('tar', ['-tzf', archive]);
    expect(stdout).toBe('stepwise\n');
  });
});
