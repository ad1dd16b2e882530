// Which transitions of the real state machine become notifications, and with which facts.
import { describe, expect, it } from 'vitest';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { notificationsFor, type Notification } from '../../src/notify/events.js';
import { baseSpec, scriptedChecker, World } from '../rollout/world.js';

function notifications(w: World, since: number): Notification[] {
  return w.log.slice(since).flatMap((t) => {
    const rollout: RolloutObject = {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'product-service', namespace: 'production' },
      spec: w.spec,
      status: t.before,
    };
    return notificationsFor(rollout, t.decision, t.observed.check, new Date(t.at));
  });
}

const settled = (w: World) => ['Succeeded', 'RolledBack', 'Aborted'].includes(w.status.phase ?? '');
const spec = { ...baseSpec, steps: [{ weight: 10 }, { weight: 50, pause: true }, { weight: 100 }] };

function adopted(): World {
  const w = new World(spec, 'app:v1', scriptedChecker({ 'app:bad': 0.05 }));
  w.runUntil((x) => x.status.phase === 'Healthy');
  return w;
}

describe('notifications of a rollout', () => {
  it('announces the start, each passed step, the gate and the promotion of a good release', () => {
    const w = adopted();
    expect(notifications(w, 0)).toEqual([]); // adoption is not news
    const since = w.log.length;
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    w.command = { id: 'p1', name: 'promote' };
    w.runUntil(settled);
    const sent = notifications(w, since);
    expect(sent.map((n) => [n.event, n.step, n.weight])).toEqual([
      ['started', 1, 0],
      ['stepPassed', 1, 10],
      ['paused', 2, 50],
      ['stepPassed', 2, 50],
      ['promoted', undefined, 0],
    ]);
    expect(sent.at(-1)).toMatchObject({ reason: 'Promoted', stableRevision: 'app:v2', severity: 'info' });
  });

  it('announces a rollback with the metric, its value, its limit and the step it failed at', () => {
    const w = adopted();
    const since = w.log.length;
    w.release('app:bad');
    w.runUntil(settled);
    const rolledBack = notifications(w, since).filter((n) => n.event === 'rolledBack');
    expect(rolledBack).toEqual([
      expect.objectContaining({
        namespace: 'production',
        rollout: 'product-service',
        phase: 'RolledBack',
        reason: 'ErrorRate',
        severity: 'warning',
        metric: 'errorRate',
        value: 0.05,
        limit: 0.01,
        step: 1,
        weight: 10,
        canaryRevision: 'app:bad',
        message: w.status.message,
        analysis: expect.objectContaining({ errorRate: 0.05 }),
      }),
    ]);
  });

  it('announces a hold on inconclusive data as paused, with the reason Inconclusive', () => {
    const w = adopted();
    w.checker = () => ({
      verdict: 'inconclusive',
      metrics: {},
      failures: [],
      inconclusive: ['error rate: no data (empty result)'],
    });
    const since = w.log.length;
    w.release('app:v2');
    w.runUntil((x) => x.status.phase === 'Paused');
    const sent = notifications(w, since);
    expect(sent.map((n) => [n.event, n.reason])).toEqual([
      ['started', 'RolloutStarted'],
      ['paused', 'Inconclusive'],
    ]);
    expect(sent[1]!.message).toContain('no data (empty result)');
  });

  it('announces an abort by command, and not as a rollback', () => {
    const w = adopted();
    const since = w.log.length;
    w.release('app:v2');
    w.runUntil((x) => x.status.currentStep === 1 && (x.status.canaryWeight ?? 0) > 0);
    w.command = { id: 'a1', name: 'abort' };
    w.runUntil(settled);
    expect(notifications(w, since).map((n) => n.event)).toEqual(['started', 'aborted']);
  });
});
