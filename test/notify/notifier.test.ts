// The Notifier with real HTTP receivers on 127.0.0.1: payloads, retries, and that it never blocks the caller.
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/analysis/types.js';
import type { RolloutObject } from '../../src/kube/cluster.js';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';
import type { Decision } from '../../src/rollout/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { baseSpec, scriptedChecker, World } from '../rollout/world.js';
import { startReceiver, type Receiver } from './receiver.js';

/** The pass of the real state machine that rolls back a canary with 5% errors, and the one that started it. */
function rollbackPasses(notifications: Record<string, unknown>) {
  const w = new World(baseSpec, 'app:v1', scriptedChecker({ 'app:bad': 0.05 }));
  w.runUntil((x) => x.status.phase === 'Healthy');
  const since = w.log.length;
  w.release('app:bad');
  w.runUntil((x) => x.status.phase === 'RolledBack');
  const passes = w.log.slice(since).map((t) => ({
    rollout: {
      apiVersion: 'stepwise.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'product-service', namespace: 'production' },
      spec: { ...w.spec, notifications },
      status: t.before,
    } as RolloutObject,
    decision: t.decision,
    check: t.observed.check,
  }));
  const started = passes.find((p) => p.decision.announcements.some((a) => a.reason === 'RolloutStarted'))!;
  return { started, rolledBack: passes.at(-1)!, all: passes };
}

type Pass = { rollout: RolloutObject; decision: Decision; check: CheckResult | undefined };

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
  notifiers.splice(0);
});

async function receiver(answers?: (number | 'hang')[]) {
  const r = await startReceiver(answers);
  receivers.push(r);
  return r;
}

function notifier(urls: Record<string, string>, options: Partial<NotifierOptions> = {}) {
  const deliveries: { kind: string; event: string; outcome: string }[] = [];
  const n = new Notifier({
    logger: createLogger({ silent: true }),
    readSecret: async (namespace, name, key) =>
      namespace === 'production' ? urls[`${name}/${key}`] : undefined,
    minBackoffMs: 10,
    timeoutMs: 2_000,
    onDelivery: (d) => deliveries.push(d),
    ...options,
  });
  notifiers.push(n);
  return { n, deliveries };
}

const webhookSpec = {
  webhook: { urlSecretRef: { name: 'hooks', key: 'url' }, headers: { authorization: 'Bearer t0k' } },
};
const send = (n: Notifier, p: Pass) => n.notify(p.rollout, p.decision, p.check);

describe('notifications over HTTP', () => {
  it('POSTs the rollback to a JSON webhook with the metric, value, limit and step', async () => {
    const hook = await receiver();
    const { n } = notifier({ 'hooks/url': hook.url });
    const { rolledBack } = rollbackPasses({ ...webhookSpec, events: ['rolledBack'] });
    send(n, rolledBack);
    await n.drain();
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.headers.authorization).toBe('Bearer t0k');
    expect(hook.received[0]!.body).toMatchObject({
      event: 'rolledBack',
      namespace: 'production',
      rollout: 'product-service',
      reason: 'ErrorRate',
      metric: 'errorRate',
      value: 0.05,
      limit: 0.01,
      step: 1,
      message: rolledBack.decision.status.message,
    });
  });

  it('posts a Slack message with text, blocks naming step, metric, value and limit, and the channel', async () => {
    const slack = await receiver();
    const { n } = notifier({ 'slack/webhook': slack.url });
    const { rolledBack } = rollbackPasses({
      slack: { webhookUrlSecretRef: { name: 'slack', key: 'webhook' }, channel: '#deploys' },
    });
    send(n, rolledBack);
    await n.drain();
    const body = slack.received[0]!.body as {
      channel: string;
      text: string;
      blocks: { type: string; text?: { text: string }; fields?: { type: string; text: string }[] }[];
    };
    expect(body.channel).toBe('#deploys');
    expect(body.text).toContain('Rolled back: production/product-service');
    expect(body.text).toContain(rolledBack.decision.status.message);
    expect(body.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
    expect(body.blocks[1]!.fields!.map((f) => f.text)).toEqual(
      expect.arrayContaining(['*Step*\n1', '*Metric*\nerrorRate', '*Value*\n0.05', '*Limit*\n0.01']),
    );
    expect(body.blocks[1]!.fields!.every((f) => f.type === 'mrkdwn')).toBe(true);
  });

  it('retries a receiver that answers 500 and delivers on the third attempt', async () => {
    const hook = await receiver([500, 500, 200]);
    const { n, deliveries } = notifier({ 'hooks/url': hook.url });
    send(n, rollbackPasses({ ...webhookSpec, events: ['rolledBack'] }).rolledBack);
    await n.drain();
    expect(hook.received).toHaveLength(3);
    expect(deliveries).toEqual([{ kind: 'webhook', event: 'rolledBack', outcome: 'sent' }]);
  });

  it('does not retry a 400: the request itself is wrong', async () => {
    const hook = await receiver([400, 200]);
    const { n, deliveries } = notifier({ 'hooks/url': hook.url });
    send(n, rollbackPasses({ ...webhookSpec, events: ['rolledBack'] }).rolledBack);
    await n.drain();
    expect(hook.received).toHaveLength(1);
    expect(deliveries).toEqual([{ kind: 'webhook', event: 'rolledBack', outcome: 'failed' }]);
  });

  it('sends only the events the Rollout lists', async () => {
    const hook = await receiver();
    const { n } = notifier({ 'hooks/url': hook.url });
    const { all } = rollbackPasses({ ...webhookSpec, events: ['started'] });
    for (const p of all) send(n, p);
    await n.drain();
    expect(hook.received.map((r) => r.body.event)).toEqual(['started']);
  });

  it('returns at once while a receiver hangs, and drops the oldest waiting notification when the queue is full', async () => {
    const hook = await receiver(['hang']);
    const { n, deliveries } = notifier(
      { 'hooks/url': hook.url },
      { queueSize: 1, concurrency: 1, retries: 0 },
    );
    const { rolledBack, started } = rollbackPasses(webhookSpec);
    send(n, started);
    await hook.waitFor(1);
    // The receiver holds the first request; the calls below must still return without waiting for it.
    send(n, rolledBack);
    send(n, rolledBack);
    expect(hook.hanging()).toBe(1);
    expect(deliveries).toEqual([{ kind: 'any', event: 'rolledBack', outcome: 'dropped' }]);
    await n.drain(); // the hanging request times out, then the kept notification is tried
    expect(hook.received.map((r) => r.body.event)).toEqual(['started', 'rolledBack']);
    expect(deliveries.filter((d) => d.outcome === 'failed')).toHaveLength(2);
  });

  it('reports a missing Secret key instead of sending', async () => {
    const { n, deliveries } = notifier({});
    send(n, rollbackPasses({ ...webhookSpec, events: ['rolledBack'] }).rolledBack);
    await n.drain();
    expect(deliveries).toEqual([{ kind: 'any', event: 'rolledBack', outcome: 'failed' }]);
  });
});
