import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describePrometheus, findPrometheusBinary } from '../../sandbox/prometheus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const missingPrometheus = (() => {
  try {
    findPrometheusBinary();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
})();
const hasPrometheus = missingPrometheus === undefined;
if (!hasPrometheus) console.warn(`demo-run: skipped, ${missingPrometheus}`);

function runDemo(args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/demo.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('runs the Prometheus named by --prometheus-bin or none: a missing one is an error naming the flag', async () => {
    const { code, stdout, stderr } = await runDemo(['--prometheus-bin', '/nonexistent/prometheus']);
    expect(code).toBe(2);
    expect(stderr).toContain('--prometheus-bin: /nonexistent/prometheus is not an executable file');
    expect(stdout).not.toContain('Starting');
  }, 60_000);

  it.skipIf(!hasPrometheus)(
    'promotes the good release, rolls back the bad one with its reason, exits 0 and leaves nothing behind',
    async () => {
      const { code, stdout, stderr } = await runDemo();
      const output = `${stdout}\n${stderr}`;
      expect(code, output).toBe(0);
      expect(stdout).toMatch(/^✔ Adopted in \d+ s/m);
      expect(stdout).toMatch(/^✔ 1\.1\.0: Succeeded after \d+ s/m);
      expect(stdout).toMatch(/^✔ 1\.2\.0-bad-errors: RolledBack after \d+ s: .*(error rate|5xx)/m);
      expect(stdout).toContain('Both verdicts as expected');
      // It says which Prometheus it ran: the sandbox's default choice.
      expect(stdout).toContain(`(${describePrometheus(findPrometheusBinary())})`);
      // Not a terminal: plain lines, one per change, no cursor movement.
      expect(stdout).not.toContain('\u001b');
      expect(stdout).toMatch(/^\[\d+:\d\d\] Progressing · step 4\/4 · canary 100%/m);
      const sandboxDir = /controller log\s+(\S+)\/controller\.log/.exec(stdout)?.[1];
      expect(sandboxDir, output).toBeDefined();
      expect(existsSync(sandboxDir!)).toBe(false);
    },
    240_000,
  );

  it.skipIf(!hasPrometheus)(
    '--mesh gateway tells the same story with a Gateway API HTTPRoute',
    async () => {
      const { code, stdout, stderr } = await runDemo(['--mesh', 'gateway', '--fast']);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toMatch(/^✔ 1\.1\.0: Succeeded after \d+ s/m);
      expect(stdout).toMatch(/^✔ 1\.2\.0-bad-errors: RolledBack after \d+ s: .*(error rate|5xx)/m);
    },
    240_000,
  );

  it('refuses a mesh it does not know, naming the ones it does', async () => {
    const { code, stdout, stderr } = await runDemo(['--mesh', 'consul']);
    expect(code).not.toBe(0);
    expect(`${stdout}${stderr}`).toMatch(
      /--mesh must be one of istio, istio-host, gateway, ambient, linkerd, cilium \(got consul\)/,
    );
  }, 60_000);
});
