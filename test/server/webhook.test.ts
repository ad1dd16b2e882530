// The trigger webhook over real HTTP on 127.0.0.1, changing Deployments of the sandbox API server through
// the real client.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/server/webhook-auth.js';
import { MAX_BODY_BYTES } from '../../src/server/webhook.js';
import { revisionOf } from '../../src/workload/revision.js';
import type { Sandbox } from '../sandbox/apiserver-fixture.js';
import {
  bearer,
  HMAC_KEY,
  IMAGE,
  imageOf,
  NS,
  resetApp,
  serveWebhook,
  startWebhookSandbox,
  TOKEN,
  type ServedWebhook,
} from './webhook-fixture.js';

describe('POST /v1/trigger', () => {
  let sandbox: Sandbox;
  let webhook: ServedWebhook;

  beforeAll(async () => {
    sandbox = await startWebhookSandbox();
    webhook = await serveWebhook(sandbox, {
      rateLimit: { burst: 1000, perSecond: 1000 },
      unauthenticatedRateLimit: { burst: 1000, perSecond: 1000 },
    });
  });

  afterAll(async () => {
    webhook?.close();
    await sandbox?.server.close();
  });

  beforeEach(async () => {
    await resetApp(sandbox, 'app');
    await resetApp(sandbox, 'multi', { sidecar: true, allowedImages: ['mirror.io/**'] });
  });

  const image = (name = 'app', container = 0) => imageOf(sandbox, name, container);
  const post = (body: string, headers: Record<string, string> = {}) => webhook.post(body, headers);
  const request = (fields: object) => JSON.stringify({ namespace: NS, rollout: 'app', ...fields });

  it('sets the image with a bearer token and answers with the revision the controller will roll out', async () => {
    const res = await post(request({ image: `${IMAGE}:1.1.0` }), bearer);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { revision: string; changed: boolean; previousImage: string };
    expect(await image()).toBe(`${IMAGE}:1.1.0`);
    const target = await sandbox.apps.readNamespacedDeployment({ namespace: NS, name: 'app' });
    expect(body).toMatchObject({
      changed: true,
      previousImage: `${IMAGE}:1.0.0`,
      revision: revisionOf(target.spec!.template),
    });
  });

  it('accepts an HMAC-SHA256 signature of the timestamp and the raw body', async () => {
    const body = request({ image: `${IMAGE}:1.2.0` });
    const res = await post(body, webhook.signed(body));
    expect(res.status).toBe(202);
    expect(await image()).toBe(`${IMAGE}:1.2.0`);
  });

  it('changes nothing when the image is already set', async () => {
    // generation moves with spec changes only (the sandbox's Deployment controller keeps writing status).
    const before = (await sandbox.apps.readNamespacedDeployment({ namespace: NS, name: 'app' })).metadata!
      .generation;
    const res = await post(request({ image: `${IMAGE}:1.0.0` }), bearer);
    expect(res.status).toBe(202);
    expect(((await res.json()) as { changed: boolean }).changed).toBe(false);
    expect(
      (await sandbox.apps.readNamespacedDeployment({ namespace: NS, name: 'app' })).metadata!.generation,
    ).toBe(before);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['no credentials', () => ({}), /send Authorization: Bearer/],
    ['a wrong token', () => ({ authorization: 'Bearer nope' }), /wrong token or signature/],
    ['a signature of another body', () => webhook.signed('{}'), /wrong token or signature/],
    [
      'a signature with the wrong key',
      () => ({
        'x-stepwise-timestamp': String(now()),
        'x-stepwise-signature': signRequest('other', now(), '{}'),
      }),
      /wrong/,
    ],
    [
      'a signature without its timestamp',
      () => ({ 'x-stepwise-signature': signRequest(HMAC_KEY, now(), '{}') }),
      /x-stepwise-timestamp must be the signing time in Unix seconds/,
    ],
  ])('refuses %s with 401 and changes nothing', async (_, headers, message) => {
    const res = await post(request({ image: `${IMAGE}:6.6.6` }), headers());
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
    expect(await image()).toBe(`${IMAGE}:1.0.0`);
  });

  it('refuses an image from another repository with 403, unless allowedImages matches it', async () => {
    let res = await post(request({ image: 'evil.io/shop/app:1.1.0' }), bearer);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/spec\.trigger\.allowedImages/);
    expect(await image()).toBe(`${IMAGE}:1.0.0`);

    res = await post(
      JSON.stringify({ namespace: NS, rollout: 'multi', container: 'app', image: 'mirror.io/a/b:2' }),
      bearer,
    );
    expect(res.status).toBe(202);
    expect(await image('multi')).toBe('mirror.io/a/b:2');
    expect(await image('multi', 1)).toBe('reg.io/proxy:1');
  });

  it('answers 404 for an unknown Rollout and 400 for bad JSON, bad fields or an ambiguous container', async () => {
    expect(
      (await post(JSON.stringify({ namespace: NS, rollout: 'nope', image: `${IMAGE}:2` }), bearer)).status,
    ).toBe(404);
    expect((await post('{not json', bearer)).status).toBe(400);
    const fields = await post(JSON.stringify({ namespace: NS, rollout: 'app', img: 'x' }), bearer);
    expect(fields.status).toBe(400);
    expect(((await fields.json()) as { error: string }).error).toMatch(
      /image is required; unknown field\(s\) img/,
    );
    const ambiguous = await post(
      JSON.stringify({ namespace: NS, rollout: 'multi', image: `${IMAGE}:2` }),
      bearer,
    );
    expect(ambiguous.status).toBe(400);
    expect(((await ambiguous.json()) as { error: string }).error).toMatch(
      /several containers \(app, sidecar\)/,
    );
    expect(await image('multi')).toBe(`${IMAGE}:1.0.0`);
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const res = await post(request({ image: `${IMAGE}:1.1.0`, pad: 'x'.repeat(MAX_BODY_BYTES) }), bearer);
    expect(res.status).toBe(413);
    expect(await image()).toBe(`${IMAGE}:1.0.0`);
  });

  it('never logs the token', () => {
    expect(webhook.logged.length).toBeGreaterThan(5);
    expect(webhook.logged.join('\n')).not.toContain(TOKEN);
    expect(webhook.logged.some((line) => line.includes('"status":401'))).toBe(true);
  });
});
