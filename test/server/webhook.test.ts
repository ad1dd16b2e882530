// The trigger webhook over real HTTP on 127.0.0.1, changing Deployments of the sandbox API server through
// the real client.
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/kube/cluster.js';
import { startHttpServer } from '../../src/server/http.js';
import { signBody } from '../../src/server/webhook-auth.js';
import {
  createTriggerWebhook,
  MAX_BODY_BYTES,
  TRIGGER_PATH,
  triggerWebhookRoutes,
} from '../../src/server/webhook.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { revisionOf } from '../../src/workload/revision.js';
import { deployment, startSandbox, type Sandbox } from '../sandbox/apiserver-fixture.js';

const NS = 'default';
const TOKEN = 'ci-token-0123456789';
const HMAC_KEY = 'hmac-key-abcdef';
const IMAGE = 'reg.io/shop/app';

function rollout(name: string, target: string, allowedImages?: string[]) {
  return {
    apiVersion: 'stepwise.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: NS },
    spec: {
      targetRef: { kind: 'Deployment', name: target },
      trafficRouting: { istio: { virtualService: { name: target }, destinationRule: { name: target } } },
      ...(allowedImages ? { trigger: { allowedImages } } : {}),
    },
  };
}

describe('POST /v1/trigger', () => {
  let sandbox: Sandbox;
  let server: Server;
  let url: string;
  const logged: string[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox();
    const cluster = new Cluster(sandbox.kc);
    await sandbox.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: 'stepwise-webhook' },
        data: {
          token: Buffer.from(`${TOKEN}\n`).toString('base64'),
          hmacKey: Buffer.from(HMAC_KEY).toString('base64'),
        },
      },
    });
    const logger = createLogger({ level: 'debug' });
    logger.transports.forEach((t) => (t.silent = true));
    logger.on('data', (entry) => logged.push(JSON.stringify(entry)));
    const routes = triggerWebhookRoutes(cluster, `${NS}/stepwise-webhook`, logger, {
      burst: 1000,
      perSecond: 1000,
    });
    ({ server, url } = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => true,
      routes,
    }));
  });

  afterAll(async () => {
    server?.close();
    await sandbox?.server.close();
  });

  beforeEach(async () => {
    for (const name of ['app', 'multi']) {
      await sandbox.apps.deleteNamespacedDeployment({ namespace: NS, name }).catch(() => undefined);
      await sandbox.custom
        .deleteNamespacedCustomObject({
          group: 'stepwise.dev',
          version: 'v1alpha1',
          plural: 'rollouts',
          namespace: NS,
          name,
        })
        .catch(() => undefined);
    }
    await sandbox.apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('app', `${IMAGE}:1.0.0`),
    });
    const multi = deployment('multi', `${IMAGE}:1.0.0`);
    multi.spec!.template.spec!.containers.push({ name: 'sidecar', image: 'reg.io/proxy:1' });
    await sandbox.apps.createNamespacedDeployment({ namespace: NS, body: multi });
    for (const body of [rollout('app', 'app'), rollout('multi', 'multi', ['mirror.io/**'])]) {
      await sandbox.custom.createNamespacedCustomObject({
        group: 'stepwise.dev',
        version: 'v1alpha1',
        plural: 'rollouts',
        namespace: NS,
        body,
      });
    }
  });

  const image = async (name = 'app', container = 0) =>
    (await sandbox.apps.readNamespacedDeployment({ namespace: NS, name })).spec!.template.spec!.containers[
      container
    ]!.image;

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${TRIGGER_PATH}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  const bearer = { authorization: `Bearer ${TOKEN}` };
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

  it('accepts an HMAC-SHA256 signature of the raw body', async () => {
    const body = request({ image: `${IMAGE}:1.2.0` });
    const res = await post(body, { 'x-stepwise-signature': signBody(HMAC_KEY, body) });
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

  it.each([
    ['no credentials', {}, /send Authorization: Bearer/],
    ['a wrong token', { authorization: 'Bearer nope' }, /wrong token or signature/],
    [
      'a signature of another body',
      { 'x-stepwise-signature': signBody(HMAC_KEY, '{}') },
      /wrong token or signature/,
    ],
    ['a signature with the wrong key', { 'x-stepwise-signature': 'sha256=' + '0'.repeat(64) }, /wrong/],
  ])('refuses %s with 401 and changes nothing', async (_, headers, message) => {
    const res = await post(request({ image: `${IMAGE}:6.6.6` }), headers as Record<string, string>);
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
    expect(logged.length).toBeGreaterThan(5);
    expect(logged.join('\n')).not.toContain(TOKEN);
    expect(logged.some((line) => line.includes('"status":401'))).toBe(true);
  });
});

describe('rate limit of the trigger webhook', () => {
  it('answers 429 once a client used its burst, before reading credentials', async () => {
    let reads = 0;
    const handler = createTriggerWebhook({
      cluster: undefined as unknown as Cluster,
      credentials: () => {
        reads++;
        return Promise.resolve({ token: TOKEN });
      },
      logger: createLogger({ silent: true }),
      rateLimit: { burst: 3, perSecond: 0.001 },
    });
    const { server, url } = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      ready: () => true,
      routes: { [TRIGGER_PATH]: handler },
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${url}${TRIGGER_PATH}`, {
          method: 'POST',
          body: '{}',
          headers: { authorization: 'Bearer x' },
        });
        codes.push(res.status);
      }
      expect(codes).toEqual([401, 401, 401, 429, 429]);
      expect(reads).toBe(3);
    } finally {
      server.close();
    }
  });
});
