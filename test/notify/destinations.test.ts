// A Rollout's notification receivers come from Secrets it names; the chart lets the controller read only the
// Secrets listed in prometheus.authSecretNames, so a 403 must say which field named the Secret and what to list.
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DestinationResolver } from '../../src/notify/destinations.js';

const forbidden = (name: string) =>
  new ApiException(403, 'HTTP-Code: 403', JSON.stringify({ message: `secrets "${name}" is forbidden` }), {});

describe('a notification Secret the controller may not read', () => {
  it('names the Rollout field, the Secret and the chart value that lets the controller read it', async () => {
    const resolver = new DestinationResolver((_namespace, name) => Promise.reject(forbidden(name)));
    await expect(
      resolver.resolve('shop', { slack: { webhookUrlSecretRef: { name: 'slack-url', key: 'url' } } }),
    ).rejects.toThrow(
      'spec.notifications.slack.webhookUrlSecretRef: the controller may not read Secret "slack-url" in namespace shop (403: secrets "slack-url" is forbidden); installed with the Helm chart, add "slack-url" to the list in the value prometheus.authSecretNames',
    );
    await expect(
      resolver.resolve('shop', { webhook: { urlSecretRef: { name: 'hook-url', key: 'url' } } }),
    ).rejects.toThrow(
      /^spec\.notifications\.webhook\.urlSecretRef: the controller may not read Secret "hook-url"/,
    );
  });
});
