// Status messages name a revision by its pod-template hash and, when the controller knows its template, by the
// image a human released: the real reconcile pass on the in-memory FakeCluster, with a scripted analyzer.
import { describe, expect, it } from 'vitest';
import { failing, Harness } from './reconcile-harness.js';

const HASH = '[0-9a-z]{6,}';

describe('status messages of a release', () => {
  it('name the promoted revision with its image', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    expect(h.status().message).toMatch(new RegExp(`^stable revision ${HASH} \\(image cart:1\\) serves 100%`));
    h.release('registry.example.com/shop/cart:1.4.2');
    await h.runUntil((x) => x.status().phase === 'Progressing');
    const started = h.decisions
      .flatMap((d) => d.decision.announcements)
      .find((a) => a.reason === 'RolloutStarted');
    expect(started?.message).toMatch(
      new RegExp(
        `^rolling out revision ${HASH} \\(image registry\\.example\\.com/shop/cart:1\\.4\\.2\\) \\(stable ${HASH} \\(image cart:1\\)\\)`,
      ),
    );
    await h.runUntil((x) => x.status().phase === 'Succeeded');
    const s = h.status();
    expect(s.message).toBe(
      `revision ${s.stableRevision} (image registry.example.com/shop/cart:1.4.2) is now stable and serves 100% of the traffic`,
    );
  });

  it('name the rolled-back revision with its image', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.checks = [failing()];
    h.release('cart:2-bad');
    await h.runUntil((x) => x.status().phase === 'RolledBack');
    const s = h.status();
    expect(s.message).toMatch(/^step 1\/3 \(weight 25%\): canary error rate 20% is above the limit 1%/);
    expect(s.message).toMatch(
      new RegExp(`; revision ${s.canaryRevision} \\(image cart:2-bad\\) rolled back$`),
    );
    // The field keeps the check's own sentence: commands quote it after the revision.
    expect(s.lastRollback?.message).not.toContain('rolled back');
  });
});
