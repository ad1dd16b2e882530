// The chart grants the controller no Secret unless prometheus.authSecretNames lists it: a Rollout naming another one
// meets a 403, and its status must say which field named the Secret and which chart value lets the controller read it.
import { describe, expect, it } from 'vitest';
import { apiError } from './fake-cluster.js';
import { Harness } from './reconcile-harness.js';

const PROMETHEUS = 'http://127.0.0.1:1';

describe('a Rollout naming a Secret the controller may not read', () => {
  it('holds with a status message naming the field, the Secret and the chart value to list it in', async () => {
    const h = new Harness(
      {},
      { prometheus: { address: PROMETHEUS, bearerTokenSecretRef: { name: 'prom-token', key: 'token' } } },
    );
    h.flags = { defaultPrometheus: PROMETHEUS };
    const forbidden = apiError(
      403,
      'secrets "prom-token" is forbidden: User "system:serviceaccount:stepwise-system:stepwise" cannot get resource "secrets" in API group "" in the namespace "shop"',
    );
    h.cluster.failOn((call) => call.method === 'getSecret', forbidden, 1_000);
    await h.runUntil((x) => x.status().phase === 'Healthy');
    h.release('cart:2');
    await h.runUntil((x) => x.status().reason === 'Inconclusive');

    const status = h.status();
    expect(status.phase).toBe('Paused');
    expect(status.message).toContain(
      'Prometheus credentials: spec.analysis.prometheus.bearerTokenSecretRef: the controller may not read Secret "prom-token" in namespace shop (403: secrets "prom-token" is forbidden: User "system:serviceaccount:stepwise-system:stepwise" cannot get resource "secrets"',
    );
    expect(status.message).toContain(
      'installed with the Helm chart, add "prom-token" to the list in the value prometheus.authSecretNames and run helm upgrade',
    );
    // Nothing was sent to Prometheus without the credentials the Rollout asked for.
    expect(h.requests).toEqual([]);
    expect(h.routeWeight()).toBe(25);
  });
});
