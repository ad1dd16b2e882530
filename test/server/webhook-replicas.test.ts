// The chart runs two controller replicas, both serving the trigger webhook behind one Service: a signed request
// accepted by one must be refused by the other. Two webhook handlers (two controllers' own memories) over one
// sandbox API server, the state they share in a cluster.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROLLOUTS, type Sandbox } from '../sandbox/apiserver-fixture.js';
import {
  IMAGE,
  imageOf,
  NS,
  replayAfterCiMovedOn,
  resetApp,
  serveWebhook,
  startWebhookSandbox,
  type ServedWebhook,
} from './webhook-fixture.js';

let sandbox: Sandbox;
let replicas: ServedWebhook[] = [];
beforeAll(async () => {
  sandbox = await startWebhookSandbox();
});
afterAll(async () => {
  await sandbox?.server.close();
});
beforeEach(async () => {
  sandbox.server.faults.reset();
  await resetApp(sandbox, 'app');
  replicas = await Promise.all([serveWebhook(sandbox), serveWebhook(sandbox)]);
});
afterEach(() => {
  for (const replica of replicas) replica.close();
  replicas = [];
});

const request = (image: string, rollout = 'app') => JSON.stringify({ namespace: NS, rollout, image });
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
const now = () => Math.floor(Date.now() / 1000);
const annotationOf = async () =>
  (
    (await sandbox.custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace: NS, name: 'app' })) as {
      metadata: { annotations?: Record<string, string> };
    }
  ).metadata.annotations?.['stepwise.dev/trigger-signatures'];

describe('a signed trigger is accepted once across controller replicas', () => {
  it('refuses on the second replica a captured request the first accepted, so it cannot downgrade', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    const { released, replayed, captured } = await replayAfterCiMovedOn(a, b, b);
    expect(released).toEqual([202, 202]);
    expect(replayed.status).toBe(401);
    expect(await errorOf(replayed)).toMatch(
      /this signature was used already \(a controller replica recorded it on the Rollout\); sign every request anew/,
    );
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.2.0`);
    // The Rollout holds hashes of the signatures, never a signature a caller could send.
    const recorded = Object.keys(JSON.parse((await annotationOf()) ?? '{}') as object);
    expect(recorded).toHaveLength(2);
    expect(recorded.join()).not.toContain(captured['x-stepwise-signature']!.slice(3, 35));
  });

  it('accepts two different signed requests for the same Rollout signed within the same second', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    const second = now();
    const first = request(`${IMAGE}:1.1.0`);
    const other = request(`${IMAGE}:1.2.0`);
    expect((await a.post(first, a.signed(first, second))).status).toBe(202);
    expect((await b.post(other, b.signed(other, second))).status).toBe(202);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.2.0`);
  });

  it('accepts exactly one of the same signed request sent to both replicas at once', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    for (let round = 1; round <= 5; round++) {
      const body = request(`${IMAGE}:1.${round}.0`);
      const headers = a.signed(body);
      const answers = await Promise.all([a.post(body, headers), b.post(body, headers)]);
      expect(answers.map((res) => res.status).sort(), `round ${round}`).toEqual([202, 401]);
      expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.${round}.0`);
    }
  });

  it('records the signature even when another write to the Rollout got there first', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    // The controller's status write (or another replica's) changed the Rollout between read and write: 409.
    sandbox.server.faults.failNext(1, 409, { verb: 'patch', resource: 'rollouts', subresource: '' });
    const body = request(`${IMAGE}:1.1.0`);
    const headers = a.signed(body);
    expect((await a.post(body, headers)).status).toBe(202);
    expect((await b.post(body, headers)).status).toBe(401);
  });

  it('answers 503 and accepts nothing when the record cannot be written; the same call succeeds later', async () => {
    const [a, b] = replicas as [ServedWebhook, ServedWebhook];
    sandbox.server.faults.failNext(4, 500, { verb: 'patch', resource: 'rollouts', subresource: '' });
    const body = request(`${IMAGE}:1.1.0`);
    const headers = a.signed(body);
    const refused = await a.post(body, headers);
    expect(refused.status).toBe(503);
    expect(await errorOf(refused)).toMatch(/could not be recorded on the Rollout .*sign anew and try again/);
    expect(await imageOf(sandbox)).toBe(`${IMAGE}:1.0.0`);

    // Nothing was recorded, here or there: the call is not a replay of an accepted one.
    expect((await a.post(body, headers)).status).toBe(202);
    expect((await b.post(body, headers)).status).toBe(401);
  });

  it('refuses a signed trigger for a Rollout that does not exist with 404', async () => {
    const [a] = replicas as [ServedWebhook];
    const body = request(`${IMAGE}:1.1.0`, 'ghost');
    const res = await a.post(body, a.signed(body));
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatch(/Rollout default\/ghost not found/);
  });
});
