// The real reconcile with a spec edited into something invalid, or the target Deployment deleted, mid-rollout:
// the last valid spec, kept in the Rollout's status, still guards the canary (a failing check rolls back), and
// `abort` is accepted.
import { describe, expect, it } from 'vitest';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { failing, Harness } from './reconcile-harness.js';

const holds = [
  {
    cause: 'an invalid spec mid-rollout',
    start: (h: Harness) => {
      const rollout = h.cluster.get<RolloutObject & { spec: Record<string, unknown> }>('rollouts', 'cart')!;
      h.cluster.put('rollouts', {
        ...rollout,
        spec: { ...rollout.spec, steps: [{ weight: 50 }, { weight: 20 }] },
      });
    },
    why: 'the spec is invalid (spec.steps',
  },
  {
    cause: 'a target Deployment deleted mid-rollout',
    start: (h: Harness) => void h.cluster.objects.delete('deployments/cart'),
    why: 'the target Deployment is missing (spec.targetRef.name: Deployment "cart" not found',
  },
];

describe.each(holds)('$cause', ({ start, why }) => {
  async function heldAt25(): Promise<Harness> {
    const h = new Harness({}, { failureLimit: 0 });
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.release('cart:2');
    await h.runUntil((x) => x.routeWeight() === 25 && x.status().stepStartedAt !== undefined);
    start(h);
    return h;
  }

  it('keeps the canary guarded by the last valid spec kept in status: a failing check still rolls back', async () => {
    const h = await heldAt25();
    h.now += 60_000; // past the step's 30 s: it does not pass meanwhile
    await h.pass();
    expect(h.status()).toMatchObject({ phase: 'Progressing', currentStep: 1, canaryWeight: 25 });
    expect(h.status().lastValidSpec?.steps.map((s) => s.weight)).toEqual([25, 50, 100]);
    expect(h.status().conditions?.find((c) => c.type === 'InvalidSpec')?.message).toContain(why);
    h.checks = [failing()];
    await h.runUntil((x) => x.status().phase === 'RolledBack');
    expect(h.routeWeight()).toBe(0);
    expect(h.cluster.events.filter((e) => e.reason === 'InvalidSpec')).toHaveLength(1);
  });

  it('accepts abort', async () => {
    const h = await heldAt25();
    h.command('abort', 'a-1');
    await h.pass();
    expect(h.status()).toMatchObject({ phase: 'Aborted', lastCommand: { id: 'a-1', accepted: true } });
    expect(h.routeWeight()).toBe(0);
  });
});
