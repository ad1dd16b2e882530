// Issue "Operator commands and CI trigger": the trigger webhook of the real controller process refuses
// what it must (changing nothing) and starts a rollout on a valid call.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP, IMAGE, prometheusInstalled, settled, startE2E, type E2E } from './harness.js';

const TOKEN = 'e2e-token-5f2c';
const HMAC_KEY = 'e2e-hmac-key-9d1e';
// Signed as docs/ci.md tells CI to sign: HMAC-SHA256 of "v1:<timestamp>:<body>".
const sign = (body: string) => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const mac = createHmac('sha256', HMAC_KEY).update(`v1:${timestamp}:${body}`).digest('hex');
  return { 'x-stepwise-timestamp': timestamp, 'x-stepwise-signature': `v1=${mac}` };
};

describe.skipIf(!prometheusInstalled)('the trigger webhook on the sandbox, end to end', () => {
  let e2e: E2E;
  let url: string;

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: { interval: '1s', stepDuration: '2s', minRequests: 5, comparison: { enabled: false } },
      steps: [{ weight: 25 }, { weight: 75 }],
      podReadyDelayMs: 200,
      controllerArgs: ['--webhook-secret', 'default/stepwise-webhook', '--namespace', 'default'],
    });
    await e2e.stack.kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: e2e.namespace,
      body: {
        metadata: { name: 'stepwise-webhook' },
        data: {
          token: Buffer.from(TOKEN).toString('base64'),
          hmacKey: Buffer.from(HMAC_KEY).toString('base64'),
        },
      },
    });
    await e2e.adopted();
    url = `${await e2e.controllerUrl()}/v1/trigger`;
  }, 90_000);

  afterAll(async () => {
    await e2e?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const body = (fields: object = {}) =>
    JSON.stringify({ namespace: e2e.namespace, rollout: APP, image: `${IMAGE}:2.0.0`, ...fields });
  const targetImage = async () => (await e2e.deployment(APP))?.spec?.template.spec?.containers[0]?.image;

  it('refuses bad credentials, foreign images, unknown rollouts and oversize bodies, changing nothing', async () => {
    const before = await e2e.status();
    const cases: [string, Promise<Response>, number][] = [
      ['no credentials', post(body()), 401],
      ['a wrong token', post(body(), { authorization: 'Bearer wrong' }), 401],
      ['a wrong signature', post(body(), sign(body({ image: `${IMAGE}:other` }))), 401],
      [
        'another repository',
        post(body({ image: 'evil.example.com/product-service:2.0.0' }), { authorization: `Bearer ${TOKEN}` }),
        403,
      ],
      ['an unknown rollout', post(body({ rollout: 'ghost' }), { authorization: `Bearer ${TOKEN}` }), 404],
      [
        'an oversize body',
        post(body({ padding: 'x'.repeat(70_000) }), { authorization: `Bearer ${TOKEN}` }),
        413,
      ],
      ['bad JSON', post('{"namespace":', { authorization: `Bearer ${TOKEN}` }), 400],
      [
        'a namespace the controller does not watch',
        post(body({ namespace: 'kube-system' }), { authorization: `Bearer ${TOKEN}` }),
        403,
      ],
      ['a malformed image', post(body({ image: `${IMAGE}:` }), { authorization: `Bearer ${TOKEN}` }), 400],
    ];
    for (const [what, response, code] of cases) {
      const res = await response;
      expect(res.status, what).toBe(code);
      expect(((await res.json()) as { error?: string }).error, what).toBeTruthy();
    }
    expect(await targetImage()).toBe(`${IMAGE}:1.0.0`);
    // Give the controller time to react if anything had changed.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = await e2e.status();
    expect(after.phase).toBe('Healthy');
    expect(after.canaryRevision).toBe(before.canaryRevision);
    expect(after.stableRevision).toBe(before.stableRevision);
  }, 60_000);

  it('a signed call sets the image and the controller rolls the new revision out', async () => {
    const payload = body();
    const headers = sign(payload);
    const res = await post(payload, headers);
    expect(res.status).toBe(202);
    expect((await post(payload, headers)).status, 'the same signed request replayed').toBe(401);
    const result = (await res.json()) as { revision: string; changed: boolean };
    expect(result.changed).toBe(true);
    expect(await targetImage()).toBe(`${IMAGE}:2.0.0`);
    await e2e.waitFor('the rollout of the new revision', (s) => s.canaryRevision === result.revision);
    const done = await e2e.waitFor('promotion', settled, 60_000);
    expect(done).toMatchObject({ phase: 'Succeeded', stableRevision: result.revision });
  }, 90_000);

  it('logged every request without the token', () => {
    const log = readFileSync(e2e.logFile, 'utf8');
    expect(log).not.toContain(TOKEN);
    expect(log.match(/trigger webhook/g)?.length).toBeGreaterThanOrEqual(8);
  });
});
