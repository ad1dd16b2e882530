// Closing the terminal that runs `npm run demo` sends SIGHUP to its process group: the demo must stop its
// controller and Prometheus (which takes SIGHUP as "reload the config" and would keep running) and remove
// the sandbox folder.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PIDs still in process group `group` (ps exits 1 when there are none). */
function groupMembers(group: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-g', String(group)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((pid) => pid > 0);
  } catch {
    return [];
  }
}

describe('npm run demo', () => {
  it.skipIf(!existsSync('/usr/bin/prometheus'))(
    'leaves no process and no sandbox folder behind when its terminal is closed, and links the dashboard',
    async () => {
      // Its own process group, as a terminal's foreground job has.
      const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/demo.ts'], {
        cwd: root,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const group = child.pid!;
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        const deadline = Date.now() + 60_000;
        while (!/dashboard\s+http:\/\/127\.0\.0\.1:\d+\//.test(stdout) && Date.now() < deadline)
          await sleep(100);
        const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(stdout)?.[1];
        expect(dashboard, stdout).toBeDefined();
        expect((await fetch(dashboard!)).status).toBe(200);
        const sandboxDir = /controller log\s+(\S+)\/controller\.log/.exec(stdout)?.[1];

        process.kill(-group, 'SIGHUP');
        await exited;
        // Children stopped by the demo may take a moment to be reaped.
        const settle = Date.now() + 10_000;
        while (groupMembers(group).length && Date.now() < settle) await sleep(100);
        expect(groupMembers(group), stdout).toEqual([]);
        expect(existsSync(sandboxDir!)).toBe(false);
      } finally {
        for (const pid of groupMembers(group)) process.kill(pid, 'SIGKILL');
      }
    },
    120_000,
  );
});
