import { readFile } from 'node:fs/promises';
import { type NotificationsSpec, rolloutSpecSchema } from '../api/schema.js';
import { unreadableSecret } from '../kube/unreadable-secret.js';

export type Destination =
  | { kind: 'slack'; url: string; channel?: string }
  | { kind: 'webhook'; url: string; headers?: Record<string, string> };

/** Reads one key of a Secret in a namespace (decoded), undefined when the Secret or key is missing. */
export type SecretReader = (namespace: string, name: string, key: string) => Promise<string | undefined>;

/** Controller-wide receivers for Rollouts without spec.notifications (the URLs live in files: mounted Secrets). */
export interface DefaultDestinations {
  slackUrlFile?: string;
  webhookUrlFile?: string;
}

/** spec.notifications of a Rollout object, or undefined when absent or malformed (validation reports those). */
export function notificationsOf(spec: unknown): NotificationsSpec | undefined {
  const raw = (spec as { notifications?: unknown } | undefined)?.notifications;
  if (raw === undefined) return undefined;
  const parsed = rolloutSpecSchema.shape.notifications.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** Secrets and URL files are re-read at most every `ttlMs`, so a rotated URL is picked up without a restart. */
export class DestinationResolver {
  private readonly cache = new Map<string, { value: string | undefined; until: number }>();

  constructor(
    private readonly readSecret: SecretReader,
    private readonly defaults: DefaultDestinations = {},
    private readonly ttlMs = 30_000,
  ) {}

  async resolve(namespace: string, spec: NotificationsSpec | undefined): Promise<Destination[]> {
    if (!spec) return this.defaultDestinations();
    const out: Destination[] = [];
    if (spec.slack) {
      const url = await this.secret(namespace, spec.slack.webhookUrlSecretRef, 'slack.webhookUrlSecretRef');
      out.push({ kind: 'slack', url, ...(spec.slack.channel ? { channel: spec.slack.channel } : {}) });
    }
    if (spec.webhook) {
      const url = await this.secret(namespace, spec.webhook.urlSecretRef, 'webhook.urlSecretRef');
      out.push({ kind: 'webhook', url, ...(spec.webhook.headers ? { headers: spec.webhook.headers } : {}) });
    }
    return out;
  }

  private async defaultDestinations(): Promise<Destination[]> {
    const out: Destination[] = [];
    const slack = this.defaults.slackUrlFile && (await this.file(this.defaults.slackUrlFile));
    if (slack) out.push({ kind: 'slack', url: slack });
    const webhook = this.defaults.webhookUrlFile && (await this.file(this.defaults.webhookUrlFile));
    if (webhook) out.push({ kind: 'webhook', url: webhook });
    return out;
  }

  private async secret(
    namespace: string,
    { name, key }: { name: string; key: string },
    field: string,
  ): Promise<string> {
    const value = await this.cached(`secret:${namespace}/${name}/${key}`, () =>
      this.readSecret(namespace, name, key).catch((error: unknown) => {
        throw unreadableSecret(error, namespace, name, `spec.notifications.${field}`);
      }),
    );
    if (!value) throw new Error(`Secret ${namespace}/${name} has no key ${JSON.stringify(key)}`);
    return value;
  }

  private file(path: string): Promise<string | undefined> {
    // A mounted Secret may hold only one of the two keys: a missing file means no such receiver.
    return this.cached(`file:${path}`, async () => {
      try {
        return (await readFile(path, 'utf8')).trim() || undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    });
  }

  private async cached(key: string, read: () => Promise<string | undefined>): Promise<string | undefined> {
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = (await read())?.trim();
    this.cache.set(key, { value, until: Date.now() + this.ttlMs });
    return value;
  }
}
