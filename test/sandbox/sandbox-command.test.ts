import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/status.js';
import { findPrometheusBinary } from '../../sandbox/prometheus.js';

// `stepwise sandbox` as a user runs it: a real process, used through the kubeconfig it writes, stopped by a signal.

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasPrometheus = (() => {
  try {
    return Boolean(findPrometheusBinary());
  } catch {
    return false;
  }
})();
if (!hasPrometheus) console.warn('sandbox-command: skipped, no Prometheus binary (see README: Quick start)');
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
if (!kubectl)
  console.warn('sandbox-command: kubectl is not installed; sending the requests it makes instead');

interface Sandbox {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  tmp: string;
}

const started: Sandbox[] = [];

function startSandbox(args: string[]): Sandbox {
  // Its own TMPDIR: whatever the sandbox leaves behind in it after stopping is a leak.
  const tmp = mkdtempSync(join(tmpdir(), 'stepwise-sandbox-test-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sandbox', ...args], {
    cwd: root,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sandbox = { child, output: () => output, exited, tmp };
  started.push(sandbox);
  return sandbox;
}

afterEach(async () => {
  for (const sandbox of started.splice(0)) {
    if (sandbox.child.exitCode === null && sandbox.child.signalCode === null) sandbox.child.kill('SIGKILL');
    await sandbox.exited;
    rmSync(sandbox.tmp, { recursive: true, force: true });
  }
});

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const ready = (sandbox: Sandbox) =>
  until(
    'the sandbox to say how to use it',
    () => (/Stop with Ctrl-C/.test(sandbox.output()) ? true : undefined),
    90_000,
  );

const line = (sandbox: Sandbox, label: string) =>
  new RegExp(`^\\s+${label}\\s+(\\S+)`, 'm').exec(sandbox.output())?.[1];

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const below = (p: number): number[] => (children.get(p) ?? []).flatMap((c) => [c, ...below(c)]);
  return below(pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

/** What is left in the sandbox's TMPDIR, apart from tsx's own compile cache. */
const leftovers = (sandbox: Sandbox) => readdirSync(sandbox.tmp).filter((name) => !name.startsWith('tsx-'));

function run(command: string, args: string[], kubeconfig: string): { code: number | null; out: string } {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: kubeconfig },
    timeout: 60_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

async function rolloutStatus(kubeConfig: KubeConfig): Promise<RolloutStatus | undefined> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const rollout = (await custom
    .getNamespacedCustomObject({
      group: 'stepwise.dev',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'rollouts',
      name: 'product-service',
    })
    .catch(() => undefined)) as { status?: RolloutStatus } | undefined;
  return rollout?.status;
}

describe.skipIf(!hasPrometheus)('stepwise sandbox', () => {
  it('applies the example unchanged, serves kubectl and the controller, and leaves no process or file on SIGTERM', async () => {
    const own = mkdtempSync(join(tmpdir(), 'stepwise-sandbox-kubeconfig-'));
    const kubeconfig = join(own, 'kubeconfig');
    try {
      const sandbox = startSandbox([
        '--apply',
        'rollouts/product-service',
        '--controller',
        '--write-kubeconfig',
        kubeconfig,
      ]);
      await ready(sandbox);
      expect(line(sandbox, 'kubeconfig')).toBe(kubeconfig);
      const prometheus = line(sandbox, 'Prometheus')!;
      expect((await fetch(`${prometheus}/-/ready`)).ok).toBe(true);

      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfig);
      // The controller it started adopted the example's Deployment.
      await until(
        'the Rollout to be Healthy',
        async () => ((await rolloutStatus(kubeConfig))?.phase === 'Healthy' ? true : undefined),
        60_000,
      );

      if (kubectl) {
        // Validation on (kubectl's default): it reads the sandbox's OpenAPI documents.
        const applied = run('kubectl', ['apply', '-f', 'rollouts/product-service/'], kubeconfig);
        expect(applied.code, applied.out).toBe(0);
        expect(applied.out).toContain('rollout.stepwise.dev/product-service unchanged');
        expect(applied.out).not.toMatch(/warning|error/i);
      } else {
        // The requests kubectl's validator makes (kubectl pkg/cmd/util Validator → cli-runtime QueryParamVerifierV3).
        const rootDoc = (await (
          await fetch(`${kubeConfig.getCurrentCluster()!.server}/openapi/v3`)
        ).json()) as {
          paths: Record<string, { serverRelativeURL: string }>;
        };
        const gv = rootDoc.paths['apis/stepwise.dev/v1alpha1']!;
        const doc = JSON.stringify(
          await (await fetch(`${kubeConfig.getCurrentCluster()!.server}${gv.serverRelativeURL}`)).json(),
        );
        expect(doc).toContain('"fieldValidation"');
      }

      // The analysis of the unchanged example reaches Prometheus by its in-cluster name.
      const apps = kubeConfig.makeApiClient(AppsV1Api);
      await until(
        'the new image on the Deployment',
        async () => {
          const deployment = await apps.readNamespacedDeployment({
            name: 'product-service',
            namespace: 'default',
          });
          deployment.spec!.template.spec!.containers[0]!.image = 'registry.example.com/product-service:1.1.0';
          // 409 when the controller scaled it meanwhile: read it again.
          return apps
            .replaceNamespacedDeployment({ name: 'product-service', namespace: 'default', body: deployment })
            .then(
              () => true,
              (error: { code?: number }) => (error.code === 409 ? undefined : Promise.reject(error)),
            );
        },
        10_000,
      );
      const checked = await until(
        'a first check of the canary with data',
        async () => {
          const status = await rolloutStatus(kubeConfig);
          return (status?.analysis?.checks ?? 0) >= 1 ? status : undefined;
        },
        60_000,
      );
      expect(checked.analysis?.requests, JSON.stringify(checked)).toBeGreaterThan(0);

      if (kubectl) {
        const described = run('kubectl', ['describe', 'rollout', 'product-service'], kubeconfig);
        expect(described.code, described.out).toBe(0);
        expect(described.out).toMatch(
          /Events:[\s\S]*Normal\s+Initialized\s+\S+\s+stepwise\s+stable revision/,
        );
        const events = run('kubectl', ['get', 'events'], kubeconfig);
        expect(events.out).toMatch(
          /Normal\s+RolloutStarted\s+rollout\/product-service\s+rolling out revision/,
        );
      } else {
        // The event search of kubectl describe (kubectl pkg/describe searchEvents).
        const selector =
          'involvedObject.name=product-service,involvedObject.namespace=default,involvedObject.kind=Rollout';
        const url = `${kubeConfig.getCurrentCluster()!.server}/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(selector)}`;
        const list = (await (await fetch(url)).json()) as { items: { reason: string }[] };
        expect(list.items.map((e) => e.reason)).toContain('Initialized');
      }

      const children = descendants(sandbox.child.pid!);
      expect(children.length).toBeGreaterThanOrEqual(2); // Prometheus and the controller at least
      sandbox.child.kill('SIGTERM');
      expect(await sandbox.exited, sandbox.output()).toBe(0);
      expect(sandbox.output()).toContain('Sandbox stopped');
      expect(children.filter(alive)).toEqual([]);
      expect(leftovers(sandbox)).toEqual([]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 240_000);

  it('writes a temporary kubeconfig by default, applies nothing, and removes it all on SIGHUP, even sent twice', async () => {
    const sandbox = startSandbox([]);
    await ready(sandbox);
    const kubeconfig = line(sandbox, 'kubeconfig')!;
    expect(kubeconfig.startsWith(sandbox.tmp)).toBe(true);
    expect(sandbox.output()).toContain('applied           nothing');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfig);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    expect((await apps.listNamespacedDeployment({ namespace: 'default' })).items).toEqual([]);

    const children = descendants(sandbox.child.pid!);
    expect(children.length).toBeGreaterThanOrEqual(1); // Prometheus
    // Twice at once, as when a signal reaches the pid and its process group: one clean stop.
    sandbox.child.kill('SIGHUP');
    sandbox.child.kill('SIGHUP');
    expect(await sandbox.exited, sandbox.output()).toBe(0);
    expect(sandbox.output()).toContain('Sandbox stopped');
    expect(children.filter(alive)).toEqual([]);
    expect(existsSync(kubeconfig)).toBe(false);
    expect(leftovers(sandbox)).toEqual([]);
  }, 120_000);

  it('refuses a folder to apply that does not exist before starting anything, naming the flag', async () => {
    const sandbox = startSandbox(['--apply', 'rollouts/no-such-example']);
    expect(await sandbox.exited).toBe(2);
    expect(sandbox.output()).toContain('--apply rollouts/no-such-example: not a directory');
    expect(leftovers(sandbox)).toEqual([]);
  }, 60_000);
});
