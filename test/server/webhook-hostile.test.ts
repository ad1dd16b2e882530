// The trigger webhook against hostile and broken callers: replayed signatures, floods and slow bodies from
// the caller's own address, malformed images, Rollouts outside the watched namespaces, vanishing clients.
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../sandbox/apiserver-fixture.js';
import {
  bearer,
  HMAC_KEY,
  IMAGE,
  imageOf,
  NS,
  partialRequest,
  replayAfterCiMovedOn,
  resetApp,
  serveWebhook,
  startWebhookSandbox,
  type ServedWebhook,
} from './webhook-fixture.js';

let sandbox: Sandbox;
let webhook: ServedWebhook | undefined;
beforeAll(async () => {
  sandbox = await startWebhookSandbox();
});
afterAll(async () => {
  await sandbox?.server.close();
});
beforeEach(() => resetApp(sandbox, 'app'));
afterEach(() => {
  webhook?.close();
  webhook = undefined;
});

const request = (image: string) => JSON.stringify({ namespace: NS, rollout: 'app', image });
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('signed requests cannot be replayed', () => {
  it('refuses a captured request replayed after CI moved on, so it cannot set the older image again', async () => {
    webhook = await serveWebhook(sandbox);
    const { released, replayed } = await replayAfterCiMovedOn(webhook, webhook, webhook);
    expect(released).toEqual([202, 202]);
    expect(replayed.status).toBe(401);
    expect(await errorOf(replayed)).toMatch(/this signature was used already/);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.2.0`);
  });

  it('does not let replays of a captured call use up the budget of valid calls', async () => {
    webhook = await serveWebhook(sandbox, { rateLimit: { burst: 2, perSecond: 0.001 } });
    const captured = request(`${IMAGE}:1.1.0`);
    const headers = webhook.signed(captured);
    expect((await webhook.post(captured, headers)).status).toBe(202);
    for (let i = 0; i < 5; i++) expect((await webhook.post(captured, headers)).status).toBe(401);
    expect((await webhook.post(request(`${IMAGE}:1.2.0`), bearer)).status).toBe(202);
  });

  it('refuses a signature whose timestamp is more than 300 s from the clock', async () => {
    webhook = await serveWebhook(sandbox);
    const body = request(`${IMAGE}:1.1.0`);
    const res = await webhook.post(body, webhook.signed(body, Math.floor(Date.now() / 1000) - 301));
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatch(/more than 300 s from the controller's clock/);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);
  });

  it('refuses a signature of the body alone, saying how to sign', async () => {
    webhook = await serveWebhook(sandbox);
    const body = request(`${IMAGE}:1.1.0`);
    const bodyOnly = `sha256=${createHmac('sha256', HMAC_KEY).update(body).digest('hex')}`;
    const res = await webhook.post(body, { 'x-stepwise-signature': bodyOnly });
    expect(res.status).toBe(401);
    expect(await errorOf(res)).toMatch(
      /body alone .* no longer accepted; send x-stepwise-timestamp: <Unix seconds> with x-stepwise-signature: v1=/,
    );
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);
  });
});

describe('unauthenticated callers cannot lock out valid ones', () => {
  it('serves a bearer and a signed call after 15 unauthenticated requests from the same address', async () => {
    webhook = await serveWebhook(sandbox);
    const flood: number[] = [];
    for (let i = 0; i < 15; i++)
      flood.push((await webhook.post(request(`${IMAGE}:6.6.6`), { authorization: 'Bearer guess' })).status);
    expect(flood.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(flood.slice(10)).toEqual(Array(5).fill(429));

    expect((await webhook.post(request(`${IMAGE}:1.1.0`), bearer)).status).toBe(202);
    const signed = request(`${IMAGE}:1.2.0`);
    expect((await webhook.post(signed, webhook.signed(signed))).status).toBe(202);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.2.0`);
  });

  it('limits authenticated calls apart: 429 once the burst is used', async () => {
    webhook = await serveWebhook(sandbox, { rateLimit: { burst: 3, perSecond: 0.001 } });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++)
      codes.push(
        (await webhook.post(JSON.stringify({ namespace: NS, rollout: 'ghost', image: 'a:1' }), bearer))
          .status,
      );
    expect(codes).toEqual([404, 404, 404, 429, 429]);
  });

  it('serves a signed call while 10 connections trickle bodies through every unauthenticated slot', async () => {
    webhook = await serveWebhook(sandbox, { unauthenticatedReads: 4 });
    const trickles = Array.from({ length: 10 }, () =>
      partialRequest(webhook!.url, webhook!.signed('{"namespace":"default"'), 1000, '{'),
    );
    try {
      await sleep(200);
      const body = request(`${IMAGE}:1.1.0`);
      expect((await webhook.post(body, webhook.signed(body))).status).toBe(202);
      expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.1.0`);
      // The oldest trickles were dropped with a 503 to make room.
      const dropped = await trickles[0]!.answer(2_000);
      expect(dropped).toMatch(/^HTTP\/1\.1 503 .*dropped: too many unauthenticated bodies/s);
    } finally {
      for (const t of trickles) t.socket.destroy();
    }
  });

  it('answers 408 and closes the connection when a body does not arrive in time', async () => {
    webhook = await serveWebhook(sandbox, { bodyTimeoutMs: 300 });
    const slow = partialRequest(webhook.url, bearer, 100, '{"namespace":');
    try {
      expect(await slow.answer(5_000)).toMatch(/^HTTP\/1\.1 408 .*the body did not arrive within 0\.3 s/s);
    } finally {
      slow.socket.destroy();
    }
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);
  });

  it('closes a connection whose headers do not arrive within 10 s', async () => {
    webhook = await serveWebhook(sandbox);
    const { hostname, port } = new URL(webhook.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => undefined);
    socket.resume();
    socket.write(`POST /v1/trigger HTTP/1.1\r\nhost: ${hostname}\r\nx-trickle: `);
    try {
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 15_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      expect(closed).toBe(true);
    } finally {
      socket.destroy();
    }
  }, 20_000);
});

describe('images and namespaces', () => {
  it.each([
    ['repo@', 'the digest after "@" is empty'],
    ['repo:', 'the tag after ":" is empty'],
    ['repo@sha256:', 'the digest "sha256:" is not'],
    [`${IMAGE}:1.3.0@evil.example.com/x:latest`, 'the digest "evil.example.com/x:latest" is not'],
    [`${IMAGE}:1.3.0\u0000`, 'control'],
    [`${IMAGE}:${'1'.repeat(5000)}`, 'it is too long'],
  ])('refuses the malformed image %j with 400 and the problem, writing nothing', async (image, problem) => {
    webhook = await serveWebhook(sandbox);
    const res = await webhook.post(request(image), bearer);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error).toMatch(/^image ".*"…? is not a valid image reference: /);
    expect(error).toContain(problem);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);
  });

  it('refuses a Rollout in a namespace the controller does not watch with 403', async () => {
    webhook = await serveWebhook(sandbox, { namespaces: ['production', 'staging'] });
    const res = await webhook.post(request(`${IMAGE}:1.1.0`), bearer);
    expect(res.status).toBe(403);
    expect(await errorOf(res)).toMatch(
      /namespace default is not watched by this controller \(it watches production, staging\)/,
    );
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);
  });
});

describe('clients that disconnect', () => {
  it('logs a client that disconnects mid-body as a disconnect, not as a failure with status 500', async () => {
    webhook = await serveWebhook(sandbox);
    const gone = partialRequest(webhook.url, bearer, 100, '{"namespace":');
    await sleep(100);
    gone.socket.destroy();
    for (let i = 0; i < 50 && !webhook.logged.some((l) => l.includes('disconnected')); i++) await sleep(50);
    expect(webhook.logged.filter((l) => l.includes('disconnected'))).toHaveLength(1);
    expect(webhook.logged.filter((l) => l.includes('"status":500') || l.includes('"level":"error"'))).toEqual(
      [],
    );
  });
});
