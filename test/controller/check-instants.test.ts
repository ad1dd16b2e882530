// Checks of Rollouts in one namespace share their Prometheus reads only when they are evaluated at the same instant:
// the controller asks for every check at the interval's grid instant (multiples of 10 s here), whatever moment the
// pass runs at, and never less than an interval after the step's weight took effect.
import { describe, expect, it } from 'vitest';
import { Harness } from './reconcile-harness.js';

describe('the instant a check is evaluated at', () => {
  it('is the grid instant of the interval before the pass, one interval apart, and at least an interval into the step', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.now += 3_400;
    h.release('cart:2');
    await h.runUntil((x) => x.requests.length >= 4, 400, 700);
    const instants = h.requests.map((request) => request.at.getTime());
    for (const at of instants) expect(at % 10_000).toBe(0);
    const first = h.requests[0]!;
    expect(first.at.getTime() - first.stepStartedAt.getTime()).toBeGreaterThanOrEqual(10_000);
    const sameStep = h.requests.filter((r) => r.stepStartedAt.getTime() === first.stepStartedAt.getTime());
    expect(sameStep.length).toBeGreaterThan(1);
    for (let i = 1; i < sameStep.length; i++) {
      expect(sameStep[i]!.at.getTime() - sameStep[i - 1]!.at.getTime()).toBe(10_000);
    }
  });
});
