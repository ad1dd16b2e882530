import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/analysis/types.js';
import { baseSpec, type Checker, scriptedChecker, World } from './world.js';

const inconclusive = (): CheckResult => ({
  verdict: 'inconclusive',
  metrics: {},
  failures: [],
  inconclusive: ['error rate: Prometheus unreachable'],
});

function healthyWorld(spec = baseSpec, checker: Checker = inconclusive): World {
  const w = new World(spec, 'app:v1', checker);
  w.runUntil((x) => x.status.phase === 'Healthy');
  return w;
}

describe('promote out of an inconclusive hold', () => {
  it('gives the next step a fresh inconclusiveLimit instead of pausing again at its first check', () => {
    const w = healthyWorld({ ...baseSpec, analysis: { ...baseSpec.analysis, inconclusiveLimit: 3 } });
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused' && x.status.reason === 'Inconclusive');
    w.sendCommand('promote', 'p-1');
    w.runUntil((x) => x.status.currentStep === 2 && x.status.stepStartedAt !== undefined);
    const checks = w.status.analysis!.checks;
    w.runUntil((x) => x.status.analysis!.checks === checks + 2);
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 2 });
    w.runUntil((x) => x.status.phase === 'Paused');
    expect(w.status.analysis!.checks).toBe(checks + 3);
  });
});

describe('promote --full of a revision that was just rolled back', () => {
  const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');

  it('does not skip the check that arrives in the same pass: the rollback wins and the command is refused', () => {
    const w = healthyWorld(baseSpec, scriptedChecker({ 'app:bad': 0.2 }));
    w.release('app:bad');
    w.runUntil((x) => x.status.stepStartedAt !== undefined && x.status.analysis!.failed === 1);
    // The next check rolls back; promote --full arrives in that very pass.
    w.now = Date.parse(w.status.analysis!.lastCheckAt!) + 10_000;
    w.sendCommand('promote-full', 'pf-1');
    w.pass();
    expect(w.status.phase).toBe('RolledBack');
    expect(w.stable?.image).toBe('app:v1');
    expect(w.status.lastCommand).toMatchObject({ id: 'pf-1', accepted: false });
    expect(w.status.lastCommand?.message).toContain('`stepwise retry` runs it again from step 1');
  });

  it('after retry asks for --force, naming the rollback, and promotes with it', () => {
    let bad = true;
    const w = healthyWorld(baseSpec, (ctx) => scriptedChecker({ 'app:v2': bad ? 0.2 : 0 })(ctx));
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status.phase).toBe('RolledBack');
    bad = false;
    w.sendCommand('retry', 'r-1');
    w.runUntil((x) => x.status.phase === 'Progressing' && x.status.stepStartedAt !== undefined);
    w.sendCommand('promote-full', 'pf-1');
    w.pass();
    expect(w.status).toMatchObject({ phase: 'Progressing', lastCommand: { id: 'pf-1', accepted: false } });
    expect(w.status.lastCommand?.message).toMatch(
      /revision app:v2 \(image app:v2\) was rolled back at .* \(ErrorRate: .*error rate 20%.*\); promoting it without the remaining steps needs `stepwise promote --full --force`/,
    );
    w.sendCommand('promote-full-force', 'pf-2');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'Succeeded', lastCommand: { id: 'pf-2', accepted: true } });
    expect(w.stable?.image).toBe('app:v2');
  });
});
