// The CLI as a process: a usage error (missing argument, unknown flag or command, bad choice) exits 2, the code
// for "could not run", so a CI job never reads a typo as a rolled-back release (exit 1).
import { describe, expect, it } from 'vitest';
import { stepwise } from './stepwise-process.js';

describe('stepwise exit codes for usage errors', () => {
  it.each([
    [['trigger', 'product-service'], /required option '--image/],
    [['status', 'product-service', '--bogus'], /unknown option '--bogus'/],
    [['status', 'product-service', '-o', 'table'], /argument 'table' is invalid/],
    [['nosuch'], /unknown command 'nosuch'/],
  ])(
    'exits 2 for %j',
    async (args, message) => {
      const run = await stepwise(args);
      expect(run.stderr).toMatch(message);
      expect(run.code).toBe(2);
    },
    60_000,
  );

  it('exits 0 for --help and --version', async () => {
    expect((await stepwise(['--help'])).code).toBe(0);
    expect((await stepwise(['promote', '--help'])).code).toBe(0);
    expect((await stepwise(['--version'])).code).toBe(0);
  }, 60_000);
});
