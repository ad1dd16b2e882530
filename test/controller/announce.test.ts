// Every transition is announced exactly once — Event, log line, notification — even when an action after the
// status write fails, or the controller dies anywhere in the pass (DESIGN §3.7).
import { describe, expect, it } from 'vitest';
import { notificationsFor } from '../../src/notify/events.js';
import { apiError, type Call, Crashed } from './fake-cluster.js';
import { failing, Harness, isStatusWith } from './reconcile-harness.js';

const strict = () => new Harness({}, { failureLimit: 0 });
const isCanaryPatch = (c: Call) => c.method === 'patchDeployment' && c.object === 'deployments/cart-canary';

async function failingAt25(): Promise<Harness> {
  const h = strict();
  await h.runUntil((x) => x.status().phase === 'Healthy');
  h.release('cart:2');
  await h.runUntil((x) => x.routeWeight() === 25 && x.status().stepStartedAt !== undefined);
  h.checks = [failing()];
  return h;
}

const rolledBackEvents = (h: Harness) => h.cluster.events.filter((e) => e.reason === 'ErrorRate');
const rolledBackNotifications = (h: Harness) =>
  h.decisions.flatMap(({ rollout, decision }) =>
    notificationsFor(rollout, decision, undefined).filter((n) => n.event === 'rolledBack'),
  );

async function passes(h: Harness, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await h.pass().catch((error: unknown) => {
      if (error instanceof Crashed) throw error;
    });
    h.now += 1_000;
  }
}

describe('announcing a transition', () => {
  it('records the rollback Event and notification once although scaling the canary down failed after the status write', async () => {
    const h = await failingAt25();
    h.cluster.failOn(isCanaryPatch, apiError(500), 3);
    await h.runUntil((x) => x.status().phase === 'RolledBack').catch(() => undefined);
    await passes(h, 10);
    expect(rolledBackEvents(h)).toHaveLength(1);
    expect(rolledBackEvents(h)[0]).toMatchObject({ type: 'Warning' });
    const [notification, ...more] = rolledBackNotifications(h);
    expect(more).toEqual([]);
    expect(notification).toMatchObject({ step: 1, weight: 25, metric: 'errorRate', value: 0.2, limit: 0.01 });
    expect(h.status().outbox ?? {}).toEqual({});
  });

  it('delivers after a restart what a controller decided and wrote but died before announcing', async () => {
    const h = await failingAt25();
    h.cluster.crashAfter(isStatusWith('phase', 'RolledBack'));
    for (let i = 0; i < 20 && h.status().phase !== 'RolledBack'; i++) {
      await h.pass().catch(() => undefined);
      h.now += 1_000;
    }
    expect(rolledBackEvents(h)).toHaveLength(0);
    expect(Object.keys(h.status().outbox ?? {})).toHaveLength(1);
    h.cluster.restart();
    await passes(h, 5);
    expect(rolledBackEvents(h)).toHaveLength(1);
    expect(rolledBackNotifications(h)).toHaveLength(1);
    expect(h.status().outbox ?? {}).toEqual({});
  });

  it('does not record an Event twice when the controller died after recording it, before clearing the outbox', async () => {
    const h = await failingAt25();
    h.cluster.crashAfter(
      (c) => c.method === 'createEvent' && (c.body as { reason: string }).reason === 'ErrorRate',
    );
    for (let i = 0; i < 20 && rolledBackEvents(h).length === 0; i++) {
      await h.pass().catch(() => undefined);
      h.now += 1_000;
    }
    h.cluster.restart();
    await passes(h, 5);
    expect(rolledBackEvents(h)).toHaveLength(1);
    expect(h.status().outbox ?? {}).toEqual({});
  });

  it('records an Event whose creation failed in a later pass, and notifies once', async () => {
    const h = await failingAt25();
    const isRollbackEvent = (c: Call) =>
      c.method === 'createEvent' && (c.body as { reason: string }).reason === 'ErrorRate';
    h.cluster.failOn(isRollbackEvent, apiError(503), 2);
    await h.runUntil((x) => x.status().phase === 'RolledBack');
    expect(rolledBackEvents(h)).toHaveLength(0);
    expect(Object.keys(h.status().outbox ?? {})).toHaveLength(1);
    await passes(h, 5);
    expect(rolledBackEvents(h)).toHaveLength(1);
    expect(rolledBackNotifications(h)).toHaveLength(1);
    expect(h.status().outbox ?? {}).toEqual({});
  });
});
