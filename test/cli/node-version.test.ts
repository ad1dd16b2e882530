// The bins on an unsupported Node: one line that says why, exit 2, instead of a stack trace from a dependency.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSupportedNode, MINIMUM_NODE } from '../../src/cli/node-version.js';

const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
// The Node of a fresh machine: whatever `node` is on the standard PATH, without node_modules/.bin.
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'node',
      ['--import', 'tsx', main, ...args],
      { timeout: 60_000, env: { PATH: SYSTEM_PATH } },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const systemNode = execFileSync('node', ['--version'], { env: { PATH: SYSTEM_PATH } })
  .toString()
  .trim()
  .slice(1);

describe('the Node version the CLI needs', () => {
  it('is the one package.json declares in engines', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
  });

  it('compares versions part by part', () => {
    expect(isSupportedNode('22.19.0')).toBe(true);
    expect(isSupportedNode('22.20.1')).toBe(true);
    expect(isSupportedNode('24.0.0')).toBe(true);
    expect(isSupportedNode('22.18.9')).toBe(false);
    expect(isSupportedNode('20.20.2')).toBe(false);
    expect(isSupportedNode('9.99.0')).toBe(false);
  });

  it('stops the bins with one line naming the version needed, on the system Node when it is older', async () => {
    const result = await run(['--version']);
    if (isSupportedNode(systemNode)) {
      expect(result).toMatchObject({ code: 0, stdout: '0.1.0\n' });
    } else {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `stepwise: Node ${systemNode} is too old; Stepwise needs Node >= ${MINIMUM_NODE} ` +
          '(install a newer Node, e.g. from https://nodejs.org, or use the single-file executable)\n',
      );
    }
  }, 60_000);
});
