// The CLI as a process against the sandbox API server: output, arguments, watch, completion and errors shaped
// the way kubectl users expect.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../src/cli/completion-script.js';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Command } from 'commander';
import { ROLLOUTS, rollout, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
let sandbox: Sandbox;
let dir: string;
let kubeconfig: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON, read field by field
type Obj = Record<string, any>;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function stepwise(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', main, ...args],
      { timeout: 60_000, env },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}
const cli = (args: string[]) => stepwise([...args, '--kubeconfig', kubeconfig]);

beforeAll(async () => {
  sandbox = await startSandbox();
  dir = mkdtempSync(join(tmpdir(), 'stepwise-cli-'));
  kubeconfig = join(dir, 'kubeconfig');
  await sandbox.server.writeKubeconfig(kubeconfig);
  for (const [namespace, name] of [
    ['default', 'product-service'],
    ['shop', 'cart'],
  ] as const) {
    await sandbox.core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
    await sandbox.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace,
      body: rollout(name, namespace),
    });
  }
});

afterAll(async () => {
  await sandbox?.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl-shaped output', () => {
  it('lists the Rollouts of every namespace with -A, namespace first', async () => {
    const { stdout, code } = await cli(['list', '-A']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+PHASE/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['default', 'product-service'],
      ['shop', 'cart'],
    ]);
  }, 240_000);

  it('prints the Rollout object with -o json, and a List for several', async () => {
    const one = JSON.parse((await cli(['status', 'product-service', '-o', 'json'])).stdout) as Obj;
    expect(one).toMatchObject({
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'product-service', namespace: 'default' },
      spec: { targetRef: { name: 'product-service' } },
    });
    const list = JSON.parse((await cli(['list', '-A', '-o', 'json'])).stdout) as Obj;
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items.map((r: Obj) => r.kind)).toEqual(['Rollout', 'Rollout']);
  }, 240_000);

  it('prints names with -o name and fields with -o jsonpath', async () => {
    expect((await cli(['list', '-A', '-o', 'name'])).stdout).toBe(
      'rollout.stepwise.dev/product-service\nrollout.stepwise.dev/cart\n',
    );
    expect((await cli(['status', 'product-service', '-o', 'jsonpath={.metadata.namespace}'])).stdout).toBe(
      'default\n',
    );
    const range =
      '--output=jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.metadata.namespace}{"\\n"}{end}';
    expect((await cli(['list', '-A', range])).stdout).toBe('product-service\tdefault\ncart\tshop\n\n');
  }, 240_000);

  it('takes rollout/NAME and rollouts.stepwise.dev/NAME, and refuses another type', async () => {
    for (const argument of ['rollout/cart', 'rollouts.stepwise.dev/cart']) {
      const { stdout, code } = await cli(['status', argument, '-n', 'shop', '-o', 'name']);
      expect({ stdout, code }).toEqual({ stdout: 'rollout.stepwise.dev/cart\n', code: 0 });
    }
    const wrong = await cli(['status', 'deployment/cart', '-n', 'shop']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('"deployment/cart" is not a Rollout; give its name or rollout/<name>');
  }, 240_000);

  it('prints one JSON line per change with --watch -o json when piped', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'status',
        'cart',
        '-n',
        'shop',
        '-w',
        '-o',
        'json',
        '--kubeconfig',
        kubeconfig,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const lines = () => out.split('\n').filter(Boolean);
    const until = async (n: number) => {
      for (let i = 0; i < 300 && lines().length < n; i++) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      await until(1);
      await new Promise((r) => setTimeout(r, 2500)); // two more polls of an unchanged Rollout: no new line
      expect(lines()).toHaveLength(1);
      await sandbox.custom.patchNamespacedCustomObject(
        {
          ...ROLLOUTS,
          namespace: 'shop',
          name: 'cart',
          body: { metadata: { labels: { team: 'checkout' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await until(2);
      const [first, second] = lines().map((l) => JSON.parse(l) as Obj);
      expect(first!.kind).toBe('Rollout');
      expect(second!.metadata.labels).toEqual({ team: 'checkout' });
    } finally {
      child.kill('SIGTERM');
    }
  }, 240_000);
});

describe('--watch in a terminal', () => {
  it('redraws the status in place with cursor moves instead of appending or clearing the screen', async () => {
    // script(1) gives the CLI a pseudo-terminal, so stdout.isTTY is true as in a user's shell.
    const command = [process.execPath, '--import', 'tsx', main, 'status', 'cart', '-n', 'shop', '-w']
      .concat(['--kubeconfig', kubeconfig])
      .map((w) => `'${w}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      for (let i = 0; i < 600 && (out.match(/Rollout: {3}shop\/cart/g) ?? []).length < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill('SIGTERM');
    }
    const frames = out.split(/Rollout: {3}shop\/cart/).length - 1;
    expect(frames).toBeGreaterThanOrEqual(3);
    const frameLines = out.slice(0, out.indexOf('\x1b[')).split('\n').length - 1;
    // Each redraw moves up over the previous frame's lines and clears below: the frames overwrite each other.
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is tested
    expect(out.match(/\x1b\[(\d+)F\x1b\[J/g)).toEqual(
      Array.from({ length: frames - 1 }, () => `\x1b[${frameLines}F\x1b[J`),
    );
    expect(out).not.toContain('\x1b[2J');
  }, 240_000);
});

describe('completion', () => {
  it('completes commands, Rollout names of the namespace given, and namespaces', async () => {
    expect((await stepwise(['__complete', 'st'])).stdout).toBe('status\n:4\n');
    expect(
      (await stepwise(['__complete', 'status', '--kubeconfig', kubeconfig, '-n', 'shop', ''])).stdout,
    ).toBe('cart\n:4\n');
    expect((await stepwise(['__complete', 'promote', '--kubeconfig', kubeconfig, ''])).stdout).toBe(
      'product-service\n:4\n',
    );
    const namespaces = (await stepwise(['__complete', 'list', '--kubeconfig', kubeconfig, '-n', ''])).stdout;
    expect(namespaces.split('\n')).toEqual(expect.arrayContaining(['default', 'shop', ':4']));
  }, 240_000);

  it('answers kubectl through kubectl_complete-stepwise with the same completions', async () => {
    const plugin = new URL('../../src/cli/kubectl-complete.ts', import.meta.url).pathname;
    const run = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', plugin, 'status', '--kubeconfig', kubeconfig, '-n', 'shop', 'ca'],
        { timeout: 60_000 },
        (_e, stdout) => resolve(stdout),
      ),
    );
    expect(run).toBe('cart\n:4\n');
  }, 240_000);

  it('offers Rollout names in bash through the CLI itself', async () => {
    const script = completionScript(new Command('stepwise'), 'bash');
    const shell = `
      export KUBECONFIG="${kubeconfig}"
      stepwise() { "${process.execPath}" --import tsx "${main}" "$@"; }
      ${script}
      COMP_WORDS=(stepwise status -n shop ""); COMP_CWORD=4; _stepwise_completion
      echo "\${COMPREPLY[@]}"`;
    const result = await new Promise<string>((resolve) =>
      execFile('bash', ['-c', shell], { timeout: 60_000 }, (_e, stdout) => resolve(stdout)),
    );
    expect(result.trim()).toBe('cart');
  }, 240_000);
});

describe('errors that say the cause and the fix', () => {
  it('names the missing kubeconfig instead of a TLS error', async () => {
    const home = mkdtempSync(join(tmpdir(), 'stepwise-home-'));
    try {
      const { code, stderr } = await stepwise(['list'], { PATH: process.env.PATH, HOME: home });
      expect(code).toBe(2);
      expect(stderr).toBe(
        `stepwise: no kubeconfig: KUBECONFIG is not set, ${home}/.kube/config does not exist and this is not a pod ` +
          'in a cluster; pass --kubeconfig <file>, set KUBECONFIG, or create ~/.kube/config ' +
          '(e.g. with your cloud\'s "get-credentials" command)\n',
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 240_000);
});
