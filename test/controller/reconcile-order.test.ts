// The order of a pass's Kubernetes calls, and what a fresh pass makes of a failure or a crash between two
// of them: against the in-memory FakeCluster, so every interleaving is tested in milliseconds.
import { describe, expect, it } from 'vitest';
import { apiError, Crashed } from './fake-cluster.js';
import { failing, Harness, isStatusWith, isWeight, passing } from './reconcile-harness.js';

/** No failed check tolerated: the first one rolls back. */
const strict = () => new Harness({}, { failureLimit: 0 });

async function rollingOut(h = new Harness()): Promise<Harness> {
  await h.runUntil((x) => x.status().phase === 'Healthy');
  h.release('cart:2');
  return h;
}

describe('a weight raise', () => {
  it('reaches the VirtualService only after the status write that records it', async () => {
    const h = await rollingOut();
    await h.runUntil((x) => x.routeWeight() === 25);
    const raise = h.indexOf(isWeight(25));
    expect(raise).toBeGreaterThan(h.indexOf(isStatusWith('canaryWeight', 25)));
  });

  it('waits for the status write also when the route weights are out of sync (observed weight unknown)', async () => {
    const h = await rollingOut();
    await h.runUntil((x) => x.status().phase === 'Progressing');
    h.setRoute(0, 90); // stable 90, canary 0: not 100 − canary, so the controller cannot read one weight
    const from = h.cluster.calls.length;
    await h.runUntil((x) => x.routeWeight() === 25);
    const raise = h.indexOf(isWeight(25), from);
    const recorded = h.indexOf(isStatusWith('canaryWeight', 25), from);
    expect(recorded).toBeGreaterThanOrEqual(0);
    expect(raise).toBeGreaterThan(recorded);
  });

  it('is not sent when the status write meets a newer Rollout (409); the next pass decides again', async () => {
    const h = await rollingOut();
    await h.runUntil((x) => x.status().phase === 'Progressing');
    // Someone edits the Rollout between the pass's read and its status write.
    h.cluster.before(isStatusWith('canaryWeight', 25), () => h.command('noop', 'x-1'));
    const from = h.cluster.calls.length;
    const result = await h.pass();
    expect(result.requeueAfterMs).toBe(0);
    expect(h.indexOf(isWeight(25), from)).toBe(-1);
    expect(h.routeWeight()).toBe(0);
    await h.runUntil((x) => x.routeWeight() === 25);
    expect(h.status().canaryWeight).toBe(25);
  });
});

describe('a rollback', () => {
  it('sends the weight to 0 before the status write, in the pass that decides it', async () => {
    const h = await rollingOut(strict());
    await h.runUntil((x) => x.routeWeight() === 25);
    h.checks = [failing()];
    const from = h.cluster.calls.length;
    await h.runUntil((x) => x.status().phase === 'RolledBack');
    expect(h.indexOf(isWeight(0), from)).toBeLessThan(h.indexOf(isStatusWith('phase', 'RolledBack'), from));
    expect(h.writes(h.indexOf(isWeight(0), from))[0]).toBe('patchCustom virtualservices/cart');
  });

  it('survives a crash between the weight call and the status write: the bad canary never gets traffic again', async () => {
    const h = await rollingOut(strict());
    await h.runUntil((x) => x.routeWeight() === 25 && x.status().stepStartedAt !== undefined);
    // The failing check is followed by checks that see nothing new (the canary has no traffic any more).
    h.checks = [failing(), passing()];
    h.cluster.crashAfter(isWeight(0));
    await h.runUntil((x) => x.routeWeight() === 0).catch(() => undefined);
    await expect(h.pass()).rejects.toThrow(Crashed);
    expect(h.status().phase).toBe('Progressing'); // the decision did not reach status
    h.cluster.restart();
    const from = h.cluster.calls.length;
    for (let i = 0; i < 120; i++) {
      await h.pass();
      expect(h.routeWeight()).toBe(0);
      h.now += 1_000;
    }
    expect(h.indexOf(isWeight(25), from)).toBe(-1);
    // The fresh check saw nothing new, so the lower weight on the route is what finishes the rollback.
    expect(h.status()).toMatchObject({ phase: 'RolledBack', reason: 'WeightLowered', canaryWeight: 0 });
  });

  it('finishes when scaling the canary down failed after the status write', async () => {
    const h = await rollingOut(strict());
    await h.runUntil((x) => x.routeWeight() === 25 && x.status().stepStartedAt !== undefined);
    h.checks = [failing()];
    h.cluster.failOn(
      (c) => c.method === 'patchDeployment' && c.object === 'deployments/cart-canary',
      apiError(500),
      5,
    );
    const canaryReplicas = () =>
      h.cluster.get<{ spec: { replicas: number } }>('deployments', 'cart-canary')!.spec.replicas;
    let failed = 0;
    for (let i = 0; i < 30 && canaryReplicas() !== 0; i++) {
      await h.pass().catch(() => (failed += 1));
      if (h.status().phase === 'RolledBack') expect(h.routeWeight()).toBe(0);
      h.now += 1_000;
    }
    expect(failed).toBe(5);
    expect(canaryReplicas()).toBe(0);
    expect(h.status().phase).toBe('RolledBack');
  });
});

describe('any single failed call', () => {
  it('never puts more canary weight on the route than status records, and the release still completes', async () => {
    // Fail one call of a whole release (ten releases, spread over its calls): the rollout always recovers.
    const clean = await rollingOut();
    await clean.runUntil((x) => x.status().phase === 'Succeeded');
    const total = clean.cluster.calls.length;
    for (let n = 1; n <= total; n += Math.ceil(total / 10)) {
      const h = new Harness();
      h.cluster.failOn((c) => c.n === n);
      for (let i = 0; i < 400 && h.status().phase !== 'Succeeded'; i++) {
        await h.pass().catch(() => undefined);
        if (h.status().phase === 'Healthy' && h.status().stableRevision && !h.status().canaryRevision) {
          h.release('cart:2');
        }
        const weight = h.routeWeight();
        expect([0, 25, 50, 100]).toContain(weight);
        expect(weight).toBeLessThanOrEqual(h.status().canaryWeight ?? 0);
        h.now += 1_000;
      }
      expect(h.status().phase, `failed call ${n}`).toBe('Succeeded');
    }
  });
});
