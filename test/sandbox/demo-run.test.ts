import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasPrometheus = existsSync('/usr/bin/prometheus');
if (!hasPrometheus) {
  console.warn(
    'demo-run: skipped, /usr/bin/prometheus is missing (install it with: apt-get install -y prometheus)',
  );
}

function runDemo(args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/demo.ts', ...args], {
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
    const { code, stdout, stderr } = await runDemo(['--mesh', 'linkerd']);
    expect(code).not.toBe(0);
    expect(`${stdout}${stderr}`).toMatch(/--mesh must be one of istio, istio-host, gateway \(got linkerd\)/);
  }, 60_000);
});
