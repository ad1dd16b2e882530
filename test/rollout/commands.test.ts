import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/analysis/types.js';
import { baseSpec, World } from './world.js';

const inconclusive = (): CheckResult => ({
  verdict: 'inconclusive',
  metrics: {},
  failures: [],
  inconclusive: ['error rate: Prometheus unreachable'],
});

function healthyWorld(spec = baseSpec, checker = inconclusive): World {
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
