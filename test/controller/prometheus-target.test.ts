// Who may point credentials where: a Rollout author must not be able to send a Secret of the namespace to a URL of
// their choosing. The one adapter under test reads Secrets through a small fake of the Cluster's getSecret.
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../src/api/validate.js';
import { CREDENTIALS_LABEL, isUnder, resolvePrometheus } from '../../src/controller/prometheus-target.js';
import type { Cluster } from '../../src/kube/cluster.js';

const TOKEN = 'the-namespace-secret';
const encoded = (text: string) => Buffer.from(text).toString('base64');

function secrets(labelled: boolean): Cluster {
  const secret = (name: string): V1Secret => ({
    metadata: { name, labels: labelled ? { [CREDENTIALS_LABEL]: 'true' } : { team: 'payments' } },
    data: { token: encoded(TOKEN), username: encoded('admin'), password: encoded(TOKEN) },
  });
  return { getSecret: async (_namespace: string, name: string) => secret(name) } as unknown as Cluster;
}

function spec(prometheus: Record<string, unknown>) {
  const result = validateSpec({
    targetRef: { name: 'app' },
    trafficRouting: { istio: { virtualService: { name: 'app' }, destinationRule: { name: 'app' } } },
    analysis: { prometheus },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.spec;
}

const OPERATOR_PROMETHEUS = 'http://prometheus.istio-system:9090';
const bearer = { bearerTokenSecretRef: { name: 'db-password', key: 'token' } };
const basic = { basicAuthSecretRef: { name: 'db-password' } };

/** What reaches the wire for this Rollout: the problem that stopped it, or the headers sent to the address. */
async function sent(
  prometheus: Record<string, unknown>,
  labelled: boolean,
  credentialsAddresses: string[] = [],
) {
  const resolution = resolvePrometheus(spec(prometheus), {
    defaultAddress: OPERATOR_PROMETHEUS,
    credentialsAddresses,
  });
  if (!resolution.ok) return { problem: resolution.problem };
  try {
    return { target: await resolution.resolve(secrets(labelled), 'shop') };
  } catch (error) {
    return { refused: (error as Error).message };
  }
}

const leaks = (outcome: Awaited<ReturnType<typeof sent>>) => {
  const authorization = outcome.target?.headers?.Authorization ?? '';
  const basicDecoded = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString();
  return authorization.includes(TOKEN) || basicDecoded.includes(TOKEN);
};

describe('Prometheus credentials from Secrets, with the controller defaults', () => {
  const attacker = [
    'https://collector.evil.example',
    'http://prometheus.istio-system:9090@evil.example/',
    'http://prometheus.istio-system:9091',
  ];

  it('sends no Secret to an address the operator did not allow: the Rollout is invalid, naming the field', async () => {
    for (const address of attacker) {
      for (const auth of [bearer, basic]) {
        const outcome = await sent({ address, ...auth }, true);
        expect(leaks(outcome)).toBe(false);
        expect(outcome.problem?.path).toBe('spec.analysis.prometheus.address');
        expect(outcome.problem?.message).toContain('--prometheus-credentials-address');
      }
    }
  });

  it('sends no Secret that has not opted in with the label, even to the operator Prometheus', async () => {
    for (const auth of [bearer, basic]) {
      const outcome = await sent({ address: OPERATOR_PROMETHEUS, ...auth }, false);
      expect(leaks(outcome)).toBe(false);
      expect(outcome.refused).toBe(
        `Secret "db-password" is not labelled ${CREDENTIALS_LABEL}=true, so it is not sent; label it (kubectl label secret db-password ${CREDENTIALS_LABEL}=true) if it is meant for Prometheus`,
      );
    }
  });

  it('sends a labelled Secret to the operator Prometheus, and to addresses allowed with --prometheus-credentials-address', async () => {
    expect((await sent({ address: OPERATOR_PROMETHEUS, ...bearer }, true)).target).toEqual({
      address: OPERATOR_PROMETHEUS,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    const hosted = 'https://prometheus.monitoring.example.com/tenant-a/api';
    expect(
      leaks(
        await sent({ address: hosted, ...bearer }, true, [
          'https://prometheus.monitoring.example.com/tenant-a',
        ]),
      ),
    ).toBe(true);
    expect(
      (
        await sent({ address: hosted, ...bearer }, true, [
          'https://prometheus.monitoring.example.com/tenant-b',
        ])
      ).problem,
    ).toBeDefined();
  });

  it('lets a Rollout use its own address freely when it sends no credentials', async () => {
    expect((await sent({ address: attacker[0], headers: { 'X-Scope-OrgID': 'a' } }, true)).target).toEqual({
      address: attacker[0],
      headers: { 'X-Scope-OrgID': 'a' },
    });
  });
});

describe('a Secret the controller may not read', () => {
  it('is reported with the field, the API server message (not the client library text) and the chart value to set', async () => {
    const forbidden = new ApiException(
      403,
      'HTTP-Code: 403 Message: Unknown API Status Code!',
      JSON.stringify({ kind: 'Status', message: 'secrets "db-password" is forbidden' }),
      {},
    );
    const cluster = { getSecret: () => Promise.reject(forbidden) } as unknown as Cluster;
    const resolution = resolvePrometheus(spec({ address: OPERATOR_PROMETHEUS, ...bearer }), {
      defaultAddress: OPERATOR_PROMETHEUS,
    });
    if (!resolution.ok) throw new Error(resolution.problem.message);
    await expect(resolution.resolve(cluster, 'shop')).rejects.toThrow(
      'spec.analysis.prometheus.bearerTokenSecretRef: the controller may not read Secret "db-password" in namespace shop (403: secrets "db-password" is forbidden); installed with the Helm chart, add "db-password" to the list in the value prometheus.authSecretNames and run helm upgrade',
    );
  });
});

describe('matching an address against an allowed one', () => {
  it('needs the same scheme, host and port, and a path at or below the allowed path', () => {
    expect(isUnder('http://p:9090', 'http://p:9090')).toBe(true);
    expect(isUnder('http://p:9090/x/y', 'http://p:9090/x')).toBe(true);
    expect(isUnder('http://p:9090/xy', 'http://p:9090/x')).toBe(false);
    expect(isUnder('https://p:9090', 'http://p:9090')).toBe(false);
    expect(isUnder('http://p:9090@evil:80', 'http://p:9090')).toBe(false);
    expect(isUnder('http://p.evil:9090', 'http://p:9090')).toBe(false);
    expect(isUnder('not a url', 'http://p:9090')).toBe(false);
  });
});
