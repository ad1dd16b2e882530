import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { registerSimulateCommand } from '../../src/cli/simulate-command.js';

const MIRROR_FIRST = `apiVersion: stepwise.dev/v1alpha1
kind: Rollout
metadata: {name: app}
spec:
  targetRef: {name: app}
  trafficRouting: {istio: {virtualService: {name: app}, destinationRule: {name: app}}}
  steps: [{mirror: {percent: 100}}, {weight: 5}, {weight: 100}]
`;

/** Runs `stepwise simulate <file> ...args` and returns what it printed. */
async function simulateCommand(args: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-simulate-command-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'rollout.yaml');
  await writeFile(file, MIRROR_FIRST);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void printed.push(String(line)));
  onTestFinished(() => log.mockRestore());
  const program = new Command().exitOverride();
  registerSimulateCommand(program);
  await program.parseAsync(['simulate', file, ...args], { from: 'user' });
  return printed.join('\n');
}

describe('stepwise simulate on a Rollout with a mirror step', () => {
  it('reports failedUserRequests beside failedCanaryRequests, in the same shape', async () => {
    const summary = JSON.parse(
      await simulateCommand(['--canary-error-rate', '0.05', '--runs', '3', '--json']),
    ) as Record<string, unknown>;
    const shape = (value: unknown) => Object.keys(value as object).sort();
    expect(shape(summary.failedUserRequests)).toEqual(['mean', 'p95']);
    expect(shape(summary.failedUserRequests)).toEqual(shape(summary.failedCanaryRequests));
    expect(summary.failedUserRequests).toEqual({ mean: 0, p95: 0 });
    expect(summary.rolledBackBeforeUserRequests).toBe(3);
  });

  it('prints the failed user requests and the rollbacks before any user request in its text summary', async () => {
    const text = await simulateCommand(['--canary-error-rate', '0.05', '--runs', '3']);
    expect(text).toMatch(/^failed user requests +mean 0\.00, p95 0$/m);
    expect(text).toMatch(/^canary requests +mean \d+ \(\d+ of them mirrored copies\)$/m);
    expect(text).toMatch(/^rolled back before any user request reached the canary +3 \(100\.0%\)$/m);
  });

  it('refuses a --header-share outside 0–1, naming the flag and the fix', async () => {
    await expect(simulateCommand(['--header-share', '1.5'])).rejects.toThrow(
      /--header-share "1.5" is not valid; use a share between 0 and 1/,
    );
  });
});
