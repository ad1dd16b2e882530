// Rollouts with nothing due re-check at a time drawn over the second half of the resync, so that many
// Rollouts started together do not re-check together every minute.
import { describe, expect, it } from 'vitest';
import { reconcile } from '../../src/controller/reconcile.js';
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
