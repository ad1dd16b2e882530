// Notifications from the real controller process: receivers on 127.0.0.1 named by a Rollout through a Secret.
// A rollback reaches them with its metric, value, limit and step; a receiver that hangs never holds a rollback up.
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../notify/receiver.js';
import { IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

const SECRET = 'notification-urls';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!prometheusInstalled)('notifications from the controller on the sandbox', () => {
  let e2e: E2E;
  let webhook: Receiver;
  let slack: Receiver;
  let hanging: Receiver;

  beforeAll(async () => {
    [webhook, slack, hanging] = await Promise.all([
      startReceiver(),
      startReceiver(),
      startReceiver(['hang']),
    ]);
    e2e = await startE2E({
      analysis: { interval: '2s', stepDuration: '6s', minRequests: 20, comparison: { enabled: false } },
    });
    const encode = (text: string) => Buffer.from(text).toString('base64');
    await e2e.stack.kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: e2e.namespace,
      body: {
        metadata: { name: SECRET },
        data: { webhook: encode(webhook.url), slack: encode(slack.url), hanging: encode(hanging.url) },
      },
    });
    await e2e.adopted();
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
    await Promise.all([webhook, slack, hanging].map((r) => r?.close()));
  });

  it('tells the webhook and Slack about the rollback: metric, value, limit and step', async () => {
    await e2e.patchRolloutSpec({
      notifications: {
        webhook: { urlSecretRef: { name: SECRET, key: 'webhook' }, headers: { 'x-team': 'shop' } },
        slack: { webhookUrlSecretRef: { name: SECRET, key: 'slack' }, channel: '#deploys' },
      },
    });
    await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
    const status = await e2e.waitFor('rollback', settled, 90_000);
    expect(status.phase).toBe('RolledBack');

    // started, any steps that passed before the errors showed, then the rollback.
    const events = async (r: Receiver) => {
      const deadline = Date.now() + 10_000;
      while (r.received.at(-1)?.body.event !== 'rolledBack' && Date.now() < deadline) await sleep(50);
      return r.received.map((x) => x.body);
    };
    const sent = await events(webhook);
    const names = sent.map((b) => b.event);
    expect(names[0]).toBe('started');
    expect(names.at(-1)).toBe('rolledBack');
    expect(names.slice(1, -1).every((e) => e === 'stepPassed')).toBe(true);
    const rolledBack = sent.at(-1)!;
    expect(rolledBack).toMatchObject({
      namespace: e2e.namespace,
      rollout: 'product-service',
      phase: 'RolledBack',
      reason: 'ErrorRate',
      metric: 'errorRate',
      limit: 0.01,
      step: status.currentStep,
      message: status.message,
    });
    expect(status.message).toContain(`step ${status.currentStep}/`);
    expect(rolledBack.value).toBeGreaterThan(0.01);
    expect(rolledBack.value).toBeCloseTo(status.analysis!.errorRate!, 3); // status keeps 4 digits
    expect(webhook.received.at(-1)!.headers['x-team']).toBe('shop');

    const slackMessages = await events(slack);
    expect(slackMessages.map((b) => b.text)).toHaveLength(names.length);
    expect(slackMessages.at(-1)).toMatchObject({
      channel: '#deploys',
      text: expect.stringContaining(`Rolled back: ${e2e.namespace}/product-service`),
    });
    expect(JSON.stringify(slackMessages.at(-1)!.blocks)).toContain('*Metric*\\nerrorRate');
  }, 150_000);

  it('rolls back while a receiver never answers: the notifications wait, the rollback does not', async () => {
    const webhookEventsBefore = webhook.received.map((r) => r.body.event);
    await e2e.patchRolloutSpec({
      notifications: { webhook: { urlSecretRef: { name: SECRET, key: 'hanging' } } },
    });
    await e2e.release(`${IMAGE}:1.3.0-bad-errors`);
    // The receiver got "started" and never answers it...
    const [first] = await hanging.waitFor(1, 30_000);
    const startedArrivedAt = Date.now();
    expect(first!.body.event).toBe('started');
    // ...and the rollout goes on regardless: analysis, then the rollback, in passes that keep completing.
    const status = await e2e.waitFor(
      'rollback',
      (s) => s.phase === 'RolledBack' && s.canaryRevision !== undefined,
      90_000,
    );
    expect(status.reason).toBe('ErrorRate');
    const passesSince = readFileSync(e2e.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"reconcile pass"'))
      .map((l) => JSON.parse(l) as { finishedAt: string })
      .filter((p) => Date.parse(p.finishedAt) > startedArrivedAt);
    expect(passesSince.length).toBeGreaterThan(0);
    // Nothing was ever answered, yet the rollback was queued for the receiver as well.
    const deadline = Date.now() + 30_000;
    const got = () => hanging.received.map((r) => r.body.event);
    while (!got().includes('rolledBack') && Date.now() < deadline) await sleep(100);
    expect(got()).toContain('rolledBack');
    // The first test's receiver is no longer named by the Rollout.
    expect(webhook.received.map((r) => r.body.event)).toEqual(webhookEventsBefore);
  }, 150_000);
});
