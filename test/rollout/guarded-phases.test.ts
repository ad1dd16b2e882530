// Every phase of a rollout stays guarded between checks: canary pods that go away after the weight was set,
// a promotion that never completes, a spec that turns invalid mid-rollout.
import { describe, expect, it } from 'vitest';
import { baseSpec, World } from './world.js';

const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');

function healthyWorld(spec = baseSpec): World {
  const w = new World(spec, 'app:v1');
  w.runUntil((x) => x.status.phase === 'Healthy');
  return w;
}

describe('canary readiness in every pass', () => {
  it('rolls back when canary pods go unready after the weight was set, once progressDeadline passed', () => {
    const w = healthyWorld({ ...baseSpec, progressDeadline: '2m' });
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 2 && x.vsWeight === 25 && !!x.status.stepStartedAt);
    w.canary!.readyAt = Infinity; // the canary's pods crash
    const crashedAt = w.now;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
    expect(w.status.message).toContain('step 2/4 (weight 25%): canary pods not ready');
    expect(w.now - crashedAt).toBeGreaterThanOrEqual(120_000);
    expect(w.now - crashedAt).toBeLessThan(125_000);
    expect(w.weights.filter((x) => x.at > crashedAt).map((x) => x.weight)).toEqual([0]); // no step passed
    expect(w.announcements.filter((a) => a.reason === 'CanaryUnready')).toHaveLength(1);
  });

  it('says so in status meanwhile, holds the step, and continues once the pods are ready again', () => {
    const w = healthyWorld({ ...baseSpec, progressDeadline: '5m' });
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 1 && !!x.status.stepStartedAt);
    w.canary!.readyAt = Infinity;
    w.runFor(90_000); // longer than the step's minute
    expect(w.status).toMatchObject({ phase: 'Progressing', currentStep: 1, canaryWeight: 5 });
    expect(w.status.message).toMatch(
      /canary pods not ready \(0\/1\).*rolling back at .* unless they recover/,
    );
    w.canary!.readyAt = w.now;
    w.runUntil(settled);
    expect(w.status.phase).toBe('Succeeded');
  });

  it('rolls back a canary held at a gate whose pods went unready', () => {
    const w = healthyWorld({
      ...baseSpec,
      progressDeadline: '1m',
      steps: [{ weight: 10, pause: true }, { weight: 100 }],
    });
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    w.canary!.readyAt = Infinity;
    w.runUntil(settled);
    expect(w.status).toMatchObject({ phase: 'RolledBack', reason: 'ProgressDeadlineExceeded' });
  });
});
