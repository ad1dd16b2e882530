import type { Logger } from 'winston';
import type { CheckResult } from '../analysis/types.js';
import type { RolloutObject } from '../kube/cluster.js';
import type { Decision } from '../rollout/types.js';
import {
  type DefaultDestinations,
  DestinationResolver,
  notificationsOf,
  type SecretReader,
} from './destinations.js';
import { type Notification, notificationsFor } from './events.js';
import { postJson } from './post.js';
import { slackMessage } from './slack.js';
import type { NotificationsSpec } from '../api/schema.js';

export interface NotifierOptions {
  logger: Logger;
  readSecret: SecretReader;
  defaults?: DefaultDestinations;
  /** Notifications waiting to be sent; when full the oldest is dropped (with a log line). */
  queueSize?: number;
  /** Notifications sent at the same time. */
  concurrency?: number;
  /** Per HTTP attempt. */
  timeoutMs?: number;
  /** Attempts after the first one, on 429, 5xx and network errors only. */
  retries?: number;
  minBackoffMs?: number;
  secretTtlMs?: number;
  /** Told about every delivery (metrics). */
  onDelivery?: (delivery: { kind: string; event: string; outcome: 'sent' | 'failed' | 'dropped' }) => void;
}

interface Job {
  notification: Notification;
  spec: NotificationsSpec | undefined;
}

/**
 * Sends Slack and JSON webhook notifications off the reconcile path: `notify` only queues, so a slow or
 * failing receiver can never delay a pass (a rollback above all).
 */
export class Notifier {
  private readonly queue: Job[] = [];
  private readonly resolver: DestinationResolver;
  private running = 0;
  private idle: (() => void)[] = [];

  constructor(private readonly options: NotifierOptions) {
    this.resolver = new DestinationResolver(options.readSecret, options.defaults, options.secretTtlMs);
  }

  /** Queues the notifications a decision calls for; returns at once. */
  notify(rollout: RolloutObject, decision: Decision, check: CheckResult | undefined): void {
    const spec = notificationsOf(rollout.spec);
    for (const notification of notificationsFor(rollout, decision, check)) {
      if (spec?.events && !spec.events.includes(notification.event)) continue;
      this.enqueue({ notification, spec });
    }
  }

  /** Resolves once every queued notification was sent or given up on. */
  async drain(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private enqueue(job: Job): void {
    const max = this.options.queueSize ?? 100;
    while (this.queue.length >= max) {
      const dropped = this.queue.shift()!;
      this.options.logger.warn('notification queue full; dropping the oldest notification', {
        namespace: dropped.notification.namespace,
        rollout: dropped.notification.rollout,
        event: dropped.notification.event,
        queueSize: max,
      });
      this.options.onDelivery?.({ kind: 'any', event: dropped.notification.event, outcome: 'dropped' });
    }
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.running < (this.options.concurrency ?? 4) && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running += 1;
      void this.send(job).finally(() => {
        this.running -= 1;
        this.pump();
        if (this.running === 0 && this.queue.length === 0)
          for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  private async send({ notification: n, spec }: Job): Promise<void> {
    const log = this.options.logger.child({ namespace: n.namespace, rollout: n.rollout });
    let destinations;
    try {
      destinations = await this.resolver.resolve(n.namespace, spec);
    } catch (error) {
      log.warn('notification not sent: cannot read its destination', {
        event: n.event,
        error: String(error),
      });
      this.options.onDelivery?.({ kind: 'any', event: n.event, outcome: 'failed' });
      return;
    }
    await Promise.all(
      destinations.map(async (d) => {
        const body = d.kind === 'slack' ? slackMessage(n, d.channel) : n;
        try {
          await postJson(d.url, body, {
            ...(d.kind === 'webhook' && d.headers ? { headers: d.headers } : {}),
            timeoutMs: this.options.timeoutMs ?? 5_000,
            retries: this.options.retries ?? 3,
            minBackoffMs: this.options.minBackoffMs ?? 500,
          });
          log.debug('notification sent', { event: n.event, receiver: d.kind });
          this.options.onDelivery?.({ kind: d.kind, event: n.event, outcome: 'sent' });
        } catch (error) {
          log.warn('notification not delivered', {
            event: n.event,
            receiver: d.kind,
            error: error instanceof Error ? error.message : String(error),
          });
          this.options.onDelivery?.({ kind: d.kind, event: n.event, outcome: 'failed' });
        }
      }),
    );
  }
}
