// The analyzer attributes the service's 503s "no healthy upstream" by the tracks' readiness, which only the controller
// reads: every check it asks for carries the ready pods of both tracks as this pass saw them.
import { describe, expect, it } from 'vitest';
import { Harness } from './reconcile-harness.js';

describe('the ready pods a check is given', () => {
  it('are the tracks’ ready pods of the pass: none for a canary whose pods went unready after its weight was set', async () => {
    const h = new Harness();
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.release('cart:2');
    await h.runUntil((x) => x.requests.length > 0);
    expect(h.requests.at(-1)!.readyPods).toEqual({ canary: 1, stable: 4 });

    h.cluster.unready.add('cart-canary');
    h.cluster.resettle();
    const before = h.requests.length;
    await h.runUntil((x) => x.requests.length > before);
    expect(h.requests.at(-1)!.readyPods).toEqual({ canary: 0, stable: 4 });
  });
});
