// Checks of Rollouts in one namespace share their Prometheus reads only when they are evaluated at the same instant:
// the controller asks for every check at the grid instant of its namespace (multiples of 10 s here, shifted by the
// namespace's whole-second offset), whatever moment the pass runs at, and never less than an interval after the
// step's weight took effect.
import { describe, expect, it } from 'vitest';
import type { RolloutSpec } from '../../src/api/schema.js';
import { checkGridOffsetMs } from '../../src/rollout/checks.js';
import { Harness } from './reconcile-harness.js';

const every = (interval: string) => ({ analysis: { interval } }) as RolloutSpec;

describe('the instant a check is evaluated at', () => {
  it('is the grid instant of the interval before the pass, one interval apart, and at least an interval into the step', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.now += 3_400;
    h.release('cart:2');
    await h.runUntil((x) => x.requests.length >= 4, 400, 700);
    const instants = h.requests.map((request) => request.at.getTime());
    const offset = checkGridOffsetMs('shop', every('10s'));
    for (const at of instants) expect((at - offset) % 10_000).toBe(0);
    const first = h.requests[0]!;
    expect(first.at.getTime() - first.stepStartedAt.getTime()).toBeGreaterThanOrEqual(10_000);
    const sameStep = h.requests.filter((r) => r.stepStartedAt.getTime() === first.stepStartedAt.getTime());
    expect(sameStep.length).toBeGreaterThan(1);
    for (let i = 1; i < sameStep.length; i++) {
      expect(sameStep[i]!.at.getTime() - sameStep[i - 1]!.at.getTime()).toBe(10_000);
    }
  });

  it("lies on the namespace's own grid: whole seconds into the interval, the same for a namespace, spread over namespaces", () => {
    const offsets = Array.from({ length: 100 }, (_, i) => checkGridOffsetMs(`team-${i}`, every('10s')));
    for (const offset of offsets) {
      expect(offset % 1_000).toBe(0);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(10_000);
    }
    expect(checkGridOffsetMs('team-1', every('10s'))).toBe(offsets[1]);
    // 100 namespaces over 10 instants: every instant is used, none by more than a quarter of them.
    const perInstant = new Map<number, number>();
    for (const offset of offsets) perInstant.set(offset, (perInstant.get(offset) ?? 0) + 1);
    expect(perInstant.size).toBe(10);
    expect(Math.max(...perInstant.values())).toBeLessThanOrEqual(25);
    expect(checkGridOffsetMs('team-1', every('1s'))).toBe(0);
  });
});
