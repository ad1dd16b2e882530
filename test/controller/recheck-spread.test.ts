// Rollouts with nothing due re-check at a time drawn over the second half of the resync, so that many
// Rollouts started together do not re-check together every minute.
import { describe, expect, it } from 'vitest';
import { PRIORITY } from '../../src/controller/queue.js';
import { reconcile } from '../../src/controller/reconcile.js';
import type { RolloutSpec } from '../../src/api/schema.js';
import { checkGridOffsetMs } from '../../src/rollout/checks.js';
import { Harness } from './reconcile-harness.js';

describe('routine re-checks of a Healthy Rollout', () => {
  it('are spread between 30 s and 60 s after the pass instead of all at 60 s', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    const after = async (draw: number) =>
      (await reconcile({ ...h.deps(), random: () => draw }, 'shop', 'cart')).requeueAfterMs;
    expect(await after(0)).toBe(30_000);
    expect(await after(0.5)).toBe(45_000);
    expect(await after(0.999)).toBe(59_970);
  });
});

describe('the wake-up of a Rollout in a step', () => {
  it('is in the check lane when a check is due by then, and routine when nothing is due', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    const healthy = await h.pass();
    expect(healthy.requeueLane).toBeUndefined();
    h.release('cart:2');
    await h.runUntil((x) => x.status().stepStartedAt !== undefined && x.routeWeight() === 25);
    // The step's first check is due one 10 s interval after the namespace's grid instant at or after the step's start.
    const started = Date.parse(h.status().stepStartedAt!);
    const offset = checkGridOffsetMs('shop', { analysis: { interval: '10s' } } as RolloutSpec);
    const due = Math.ceil((started - offset) / 10_000) * 10_000 + offset + 10_000;
    const waiting = await h.pass();
    expect(h.now + waiting.requeueAfterMs!).toBe(due);
    expect(waiting.requeueLane).toBe(PRIORITY.check);
  });
});
