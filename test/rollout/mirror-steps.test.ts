import { describe, expect, it } from 'vitest';
import { baseSpec, scriptedChecker, World, type Checker } from './world.js';

const healthy = (w: World) => w.status.phase === 'Healthy';
const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');
const testers = { match: [{ headers: [{ name: 'x-canary', value: 'true' }] }] };

// A bad release that shows it only from step 2 on, once the header route is in force.
const badFromStep2: Checker = (ctx) =>
  scriptedChecker({ 'app:bad': (ctx.world.status.currentStep ?? 0) >= 2 ? 0.05 : 0 })(ctx);

function adopted(steps: unknown[], checker = scriptedChecker({ 'app:bad': 0.05 })): World {
  const w = new World({ ...baseSpec, steps } as typeof baseSpec, 'app:v1', checker);
  w.runUntil(healthy);
  return w;
}

describe('a mirror step', () => {
  it('judges the canary on mirrored copies with users at 0%, then goes on to the weights and promotes', () => {
    const w = adopted([{ mirror: { percent: 100 } }, { weight: 25 }, { weight: 100 }]);
    w.release('app:v2');
    w.runUntil((x) => x.vsAdded.mirrorPercent === 100);
    expect(w.status).toMatchObject({
      phase: 'Progressing',
      currentStep: 1,
      canaryWeight: 0,
      mirrorPercent: 100,
    });
    expect(w.vsWeight).toBe(0);
    expect(w.status.message).toContain('step 1/3 (mirror 100%)');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    // Mirror on at 0%, off as soon as the step passed (before the 25% pods are ready), nothing left after promotion.
    expect(w.weights.map((x) => [x.weight, x.mirrorPercent])).toEqual([
      [0, undefined],
      [0, 100],
      [0, undefined],
      [25, undefined],
      [100, undefined],
      [0, undefined],
    ]);
    expect(w.vsAdded).toEqual({});
    expect(w.status.mirrorPercent).toBeUndefined();
  });

  it('mirrors only once the canary pods are ready, and starts the step clock once the route carries the mirror', () => {
    const w = adopted([{ mirror: { percent: 50 } }, { weight: 100 }]);
    w.podReadyMs = 20_000;
    w.release('app:v2');
    w.runUntil((x) => x.vsAdded.mirrorPercent === 50);
    const mirrored = w.weights.find((x) => x.mirrorPercent === 50)!.at;
    const released = w.log.find((t) => t.decision.status.phase === 'Progressing')!.at;
    expect(mirrored - released).toBeGreaterThanOrEqual(20_000);
    expect(w.canary?.replicas).toBe(2); // ceil(4 * 50%): as many pods as 50% of the requests need
    w.runFor(2_000);
    expect(Date.parse(w.status.stepStartedAt!)).toBeGreaterThanOrEqual(mirrored);
  });

  it('rolls a bad canary back from the mirror step without ever giving it a user request', () => {
    const w = adopted([{ mirror: { percent: 100 } }, { weight: 25 }, { weight: 100 }]);
    w.release('app:bad');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ErrorRate', canaryWeight: 0 });
    expect(w.status.message).toContain('step 1/3 (mirror 100%)');
    expect(w.weights.every((x) => x.weight === 0)).toBe(true);
    const rollbackPass = w.log.find((t) => t.decision.status.phase === 'RolledBack')!;
    expect(rollbackPass.decision.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    expect(w.vsAdded).toEqual({});
  });

  it('is removed by abort during the step', () => {
    const w = adopted([{ mirror: { percent: 100 }, duration: '10m' }, { weight: 100 }]);
    w.release('app:v2');
    w.runUntil((x) => x.vsAdded.mirrorPercent === 100);
    w.sendCommand('abort');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Aborted');
    expect(w.vsAdded).toEqual({});
    expect(w.vsWeight).toBe(0);
  });
});

describe('a headerRoute step', () => {
  it('routes matching requests to the canary from its step to the end of the rollout, then removes the route', () => {
    const w = adopted([{ weight: 5 }, { headerRoute: testers }, { weight: 25 }]);
    w.release('app:v2');
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
    // The header route step keeps the 5% of the step before it; promotion removes the route first.
    expect(w.weights.map((x) => [x.weight, x.headerRoute])).toEqual([
      [0, undefined],
      [5, undefined],
      [5, true],
      [25, true],
      [25, undefined],
      [0, undefined],
    ]);
    expect(w.vsAdded).toEqual({});
    expect(w.status.headerRoute).toBeUndefined();
  });

  it('is removed with the weight on rollback', () => {
    const w = adopted([{ weight: 5 }, { headerRoute: testers }, { weight: 25 }], badFromStep2);
    w.release('app:bad');
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ErrorRate' });
    expect(w.weights.some((x) => x.headerRoute)).toBe(true);
    expect(w.vsAdded).toEqual({});
  });
});

describe('a leftover of a step on the route', () => {
  it('is removed once the rollout is no longer under way (a crash between the status write and the route)', () => {
    const w = adopted([{ mirror: { percent: 100 } }, { weight: 100 }]);
    w.vsAdded = { mirrorPercent: 100, headerRoute: 'abc' };
    const decision = w.pass();
    expect(decision.actions[0]).toEqual({ kind: 'setCanaryWeight', weight: 0 });
    expect(w.vsAdded).toEqual({});
  });
});
