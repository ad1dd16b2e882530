// The real reconcile with a spec edited into something invalid mid-rollout: the last valid spec, kept in the
// Rollout's status, still guards the canary (a failing check rolls back), and `abort` is accepted.
import { describe, expect, it } from 'vitest';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { failing, Harness } from './reconcile-harness.js';

async function invalidAt25(): Promise<Harness> {
  const h = new Harness({}, { failureLimit: 0 });
  await h.runUntil((x) => x.status().phase === 'Healthy');
  h.release('cart:2');
  await h.runUntil((x) => x.routeWeight() === 25 && x.status().stepStartedAt !== undefined);
  const rollout = h.cluster.get<RolloutObject & { spec: Record<string, unknown> }>('rollouts', 'cart')!;
  h.cluster.put('rollouts', {
    ...rollout,
    spec: { ...rollout.spec, steps: [{ weight: 50 }, { weight: 20 }] },
  });
  return h;
}

describe('an invalid spec mid-rollout', () => {
  it('keeps the canary guarded by the last valid spec kept in status: a failing check still rolls back', async () => {
    const h = await invalidAt25();
    await h.pass();
    expect(h.status()).toMatchObject({ phase: 'Progressing', canaryWeight: 25 });
    expect(h.status().lastValidSpec?.steps.map((s) => s.weight)).toEqual([25, 50, 100]);
    expect(h.status().conditions?.find((c) => c.type === 'InvalidSpec')?.message).toContain('spec.steps');
    h.checks = [failing()];
    await h.runUntil((x) => x.status().phase === 'RolledBack');
    expect(h.routeWeight()).toBe(0);
    expect(h.cluster.events.filter((e) => e.reason === 'InvalidSpec')).toHaveLength(1);
  });

  it('accepts abort', async () => {
    const h = await invalidAt25();
    h.command('abort', 'a-1');
    await h.pass();
    expect(h.status()).toMatchObject({ phase: 'Aborted', lastCommand: { id: 'a-1', accepted: true } });
    expect(h.routeWeight()).toBe(0);
  });
});
